/* test_serve_quant.c - the int8 scan of recommend (src/serve/quant.c) gives
 * exactly the fp32 scan's lists: random and trained models, duplicated
 * rows (ties), NaN/Inf/zero/denormal rows, k >= n_items, seen and denied
 * items, item biases, anonymous sessions, a racing first use, and
 * allocation failures. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "serve/serve.h"
#include "util/test_util.h"

enum { N_USERS = 60 };

/* A dataset where every item appears and users have 1..40 items. */
static aisle_dataset *catalog_data(uint32_t n_items) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[32], it[32];
    uint64_t s = 88172645463325252ull;
    for (uint32_t j = 0; j < n_items; j++) {
        snprintf(u, sizeof u, "u%u", j % N_USERS);
        snprintf(it, sizeof it, "p%u", j);
        assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 0));
    }
    for (uint32_t r = 0; r < N_USERS; r++)
        for (uint32_t t = 0; t < 1 + r % 40; t++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            snprintf(u, sizeof u, "u%u", r);
            snprintf(it, sizeof it, "p%u", (uint32_t)(s % n_items));
            assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 0));
        }
    return ds;
}

static aisle_model *train_catalog(uint32_t n_items, uint32_t dim, int epochs) {
    aisle_dataset *ds = catalog_data(n_items);
    char opts[128];
    snprintf(opts, sizeof opts, "model=als factors=%u epochs=%d threads=1", dim, epochs);
    aisle_model *m = tu_train(ds, opts);
    aisle_dataset_free(ds);
    return m;
}

static float gauss(uint64_t *s) {
    double a = 0;
    for (int i = 0; i < 4; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        a += (double)(*s >> 11) / 9007199254740992.0;
    }
    return (float)((a - 2.0) * 1.7);
}

static void randomize(aisle_model *m, uint64_t seed) {
    model_factors *f = m->state;
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)model_n_users(m) * f->dim; i++) f->user[i] = gauss(&s);
    for (size_t i = 0; i < (size_t)model_n_items(m) * f->dim; i++) f->item[i] = gauss(&s) * 0.3f;
}

static aisle_rec_options *opts_with(const char *scan, const char *exclude_seen) {
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "scan", scan));
    assert_ok(aisle_rec_options_set(o, "exclude_seen", exclude_seen));
    return o;
}

/* The reference: score_items, then serve_select (the path recommend took
 * before the fused scans), as keys and bits. */
static size_t reference(const aisle_model *m, const model_query *q, size_t k, bool exclude_seen, core_hit *hits) {
    uint32_t ni = model_n_items(m);
    float *scores = malloc(ni * sizeof *scores);
    assert_non_null(scores);
    assert_ok(m->ops->score_items(m, q, scores));
    serve_sel sel;
    assert_ok(serve_sel_init(&sel, m, NULL));
    size_t n = serve_select(&sel, scores, q->items, exclude_seen && q->user >= 0 ? q->n_items : 0, -1,
                            k < ni ? k : ni, hits);
    serve_sel_free(&sel);
    free(scores);
    return n;
}

/* Every user's top-k through scan=int8 equals scan=fp32 and the reference,
 * keys and score bits; returns the re-scored share of the int8 calls. */
static double check_same(const aisle_model *m, size_t k, bool exclude_seen, const char *const *deny, size_t n_deny) {
    aisle_rec_options *o8 = opts_with("int8", exclude_seen ? "true" : "false");
    aisle_rec_options *o32 = opts_with("fp32", exclude_seen ? "true" : "false");
    assert_ok(aisle_rec_options_deny(o8, deny, n_deny));
    assert_ok(aisle_rec_options_deny(o32, deny, n_deny));
    uint32_t ni = model_n_items(m);
    size_t cap = k < ni ? k : ni;
    const char **a = calloc(cap + 1, sizeof *a), **b = calloc(cap + 1, sizeof *b);
    float *sa = calloc(cap + 1, sizeof *sa), *sb = calloc(cap + 1, sizeof *sb);
    core_hit *ref = calloc(cap + 1, sizeof *ref);
    assert_true(a && b && sa && sb && ref);
    size_t items = 0, rescored = 0;
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        const char *key = keys_at(&m->users, u);
        size_t na, nb;
        assert_ok(aisle_recommend(m, key, k, o8, a, sa, &na));
        if (serve_last_scan.int8) items += serve_last_scan.items, rescored += serve_last_scan.rescored;
        assert_ok(aisle_recommend(m, key, k, o32, b, sb, &nb));
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            if (strcmp(a[i], b[i]) != 0 || memcmp(&sa[i], &sb[i], sizeof(float)) != 0)
                fail_msg("user %s rank %zu: int8 %s %.9g, fp32 %s %.9g", key, i, a[i], (double)sa[i], b[i],
                         (double)sb[i]);
        }
        if (n_deny == 0) {
            model_query q;
            model_user_query(m, u, &q);
            size_t nr = reference(m, &q, k, exclude_seen, ref);
            assert_int_equal(nr, na);
            for (size_t i = 0; i < nr; i++) {
                assert_string_equal(keys_at(&m->items, ref[i].item), a[i]);
                assert_memory_equal(&ref[i].score, &sa[i], sizeof(float));
            }
        }
    }
    free(a), free(b), free(sa), free(sb), free(ref);
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    return items ? (double)rescored / (double)items : 1.0;
}

static void test_int8_scan_equals_fp32_on_random_models(void **state) {
    (void)state;
    static const uint32_t dims[] = {16, 13, 64};
    for (size_t t = 0; t < CORE_ARRAY_LEN(dims); t++) {
        aisle_model *m = train_catalog(3000, dims[t], 1);
        randomize(m, 1234567 + t);
        double rate = 0;
        for (size_t k = 1; k <= 100; k *= 10) rate = check_same(m, k, true, NULL, 0);
        check_same(m, 10, false, NULL, 0);
        /* the bound must prune: most items never need their fp32 row */
        assert_true(rate < 0.25);
        aisle_model_free(m);
    }
}

/* The AVX2 kernel and the portable one (the only one on CPUs without
 * AVX2) find the same candidates with the same bounds, bit for bit. */
static void test_int8_kernels_agree(void **state) {
    (void)state;
    static const uint32_t dims[] = {16, 13, 64, 7};
    for (size_t t = 0; t < CORE_ARRAY_LEN(dims); t++) {
        aisle_model *m = train_catalog(1500, dims[t], 1);
        randomize(m, 77 + t);
        model_factors *f = m->state;
        for (uint32_t k = 0; k < f->dim; k++) f->item[3 * f->dim + k] = NAN;
        for (uint32_t u = 0; u < 20; u++) {
            bool same = false;
            assert_ok(serve_quant_kernels_agree(m, f->user + (size_t)u * f->dim, 1 + u * 5, &same));
            assert_true(same);
        }
        aisle_model_free(m);
    }
}

static void test_int8_scan_equals_fp32_on_a_trained_model(void **state) {
    (void)state;
    aisle_model *m = train_catalog(5000, 32, 4);
    check_same(m, 10, true, NULL, 0);
    check_same(m, 50, false, NULL, 0);
    aisle_model_free(m);
}

static void test_int8_scan_with_k_at_least_n_items_and_deny_list(void **state) {
    (void)state;
    aisle_model *m = train_catalog(700, 8, 1);
    randomize(m, 99);
    check_same(m, 700, true, NULL, 0);
    check_same(m, 10000, false, NULL, 0);
    const char *deny[] = {"p1", "p2", "p3", "p10", "no-such-item"};
    for (size_t k = 1; k < 40; k += 7) check_same(m, k, true, deny, CORE_ARRAY_LEN(deny));
    aisle_model_free(m);
}

/* Many identical rows and rows that are exact multiples of others: equal
 * scores decided by item index, right at the k-th place. */
static void test_int8_scan_breaks_ties_like_fp32(void **state) {
    (void)state;
    aisle_model *m = train_catalog(2000, 16, 1);
    randomize(m, 7);
    model_factors *f = m->state;
    uint32_t d = f->dim;
    for (uint32_t j = 0; j < model_n_items(m); j++) {
        if (j % 3 == 0) memcpy(f->item + (size_t)j * d, f->item, d * sizeof(float)); /* 667 copies of row 0 */
        if (j % 7 == 1) /* a power-of-two multiple: its int8 row is the same */
            for (uint32_t k = 0; k < d; k++) f->item[(size_t)j * d + k] = f->item[d + k] * 0.5f;
    }
    for (size_t k = 1; k <= 1000; k = k * 3 + 1) check_same(m, k, true, NULL, 0);
    /* users that are exactly row 0: the copies tie at the top */
    for (uint32_t u = 0; u < 5; u++) memcpy(f->user + (size_t)u * d, f->item, d * sizeof(float));
    check_same(m, 10, false, NULL, 0);
    check_same(m, 700, false, NULL, 0);
    aisle_model_free(m);
}

static void test_int8_scan_with_nan_inf_zero_and_tiny_rows(void **state) {
    (void)state;
    aisle_model *m = train_catalog(3000, 16, 1);
    randomize(m, 4242);
    model_factors *f = m->state;
    uint32_t d = f->dim;
    float *it = f->item;
    for (uint32_t k = 0; k < d; k++) {
        it[5 * d + k] = NAN;                    /* NaN row: never recommended */
        it[9 * d + k] = 0;                      /* zero row */
        it[11 * d + k] = 1e-40f * (float)(k + 1); /* denormal row: no int8 scale */
        it[13 * d + k] = k == 3 ? 3e38f : 0.1f;   /* overflows some dot products to +-Inf */
        it[17 * d + k] = 1e30f;                   /* huge but finite scores */
    }
    it[21 * d + 2] = INFINITY; /* one Inf entry */
    it[22 * d + 0] = -INFINITY;
    check_same(m, 10, true, NULL, 0);
    check_same(m, 3000, false, NULL, 0);
    /* user rows: zero, tiny, NaN (falls back to fp32) */
    memset(f->user, 0, d * sizeof(float));
    for (uint32_t k = 0; k < d; k++) f->user[d + k] = 1e-42f;
    f->user[2 * d + 1] = NAN;
    check_same(m, 10, true, NULL, 0);
    aisle_model_free(m);
}

static void test_int8_scan_with_item_biases(void **state) {
    (void)state;
    aisle_model *m = train_catalog(2500, 24, 1);
    randomize(m, 31337);
    model_factors *f = m->state;
    f->item_bias = core_malloc(model_n_items(m) * sizeof *f->item_bias);
    assert_non_null(f->item_bias);
    uint64_t s = 5;
    for (uint32_t j = 0; j < model_n_items(m); j++) f->item_bias[j] = j % 5 ? gauss(&s) : 1e6f;
    check_same(m, 10, true, NULL, 0);
    check_same(m, 400, false, NULL, 0);
    aisle_model_free(m);
}

static void test_int8_scan_for_anonymous_sessions(void **state) {
    (void)state;
    aisle_model *m = train_catalog(5000, 32, 3);
    aisle_rec_options *o8 = opts_with("int8", "true"), *o32 = opts_with("fp32", "true");
    const char *session[] = {"p1", "p77", "p4000", "p1", "p3"};
    float w[] = {1, 2, 0.5f, 1, 3};
    const char *a[20], *b[20];
    float sa[20], sb[20];
    size_t na, nb;
    for (size_t len = 1; len <= 5; len++) {
        assert_ok(aisle_recommend_for_items(m, session, w, len, 20, o8, a, sa, &na));
        assert_true(serve_last_scan.int8);
        assert_ok(aisle_recommend_for_items(m, session, w, len, 20, o32, b, sb, &nb));
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_string_equal(a[i], b[i]);
            assert_memory_equal(&sa[i], &sb[i], sizeof(float));
            for (size_t t = 0; t < len; t++) assert_string_not_equal(a[i], session[t]);
        }
    }
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    aisle_model_free(m);
}

/* auto picks int8 on 4096+ items only; a filter callback or an allow list
 * keeps the fp32 scan (the callback must see would-be hits only). */
static int drop_even(void *user, const char *key, size_t index) {
    (void)key;
    (*(int *)user)++;
    return index % 2 == 1;
}

static void test_scan_choice_auto_filter_and_allow(void **state) {
    (void)state;
    aisle_model *small = train_catalog(1000, 8, 1), *big = train_catalog(5000, 8, 1);
    const char *items[10];
    size_t n;
    assert_ok(aisle_recommend(small, "u1", 10, NULL, items, NULL, &n));
    assert_false(serve_last_scan.int8);
    assert_ok(aisle_recommend(big, "u1", 10, NULL, items, NULL, &n));
    assert_true(serve_last_scan.int8);
    aisle_rec_options *o = opts_with("int8", "true");
    int calls = 0;
    assert_ok(aisle_rec_options_set_filter(o, drop_even, &calls));
    assert_ok(aisle_recommend(big, "u1", 10, o, items, NULL, &n));
    assert_false(serve_last_scan.int8);
    assert_int_equal(n, 10);
    assert_true(calls > 0 && calls < 5000);
    assert_ok(aisle_rec_options_set_filter(o, NULL, NULL));
    const char *allow[] = {"p5", "p6", "p7"};
    assert_ok(aisle_rec_options_allow(o, allow, 3));
    assert_ok(aisle_recommend(big, "u1", 10, o, items, NULL, &n));
    assert_false(serve_last_scan.int8);
    assert_true(n <= 3);
    assert_status_msg(aisle_rec_options_set(o, "scan", "int4"), AISLE_EINVAL, "scan");
    aisle_rec_options_free(o);
    aisle_model_free(small);
    aisle_model_free(big);
}

typedef struct racer {
    const aisle_model *m;
    const char *first[10];
    size_t n;
    int rc;
} racer;

static void *race_first_use(void *arg) {
    racer *r = arg;
    aisle_rec_options *o;
    r->rc = aisle_rec_options_new(&o);
    if (!r->rc) r->rc = aisle_rec_options_set(o, "scan", "int8");
    for (int rep = 0; !r->rc && rep < 20; rep++) r->rc = aisle_recommend(r->m, "u3", 10, o, r->first, NULL, &r->n);
    aisle_rec_options_free(o);
    return NULL;
}

/* Readers race to build the index on first use: one wins, the others free
 * theirs; all lists agree (TSan runs this in make check-tsan). */
static void test_int8_index_built_once_under_racing_readers(void **state) {
    (void)state;
    aisle_model *m = train_catalog(3000, 16, 1);
    racer r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].m = m;
        assert_int_equal(pthread_create(&t[i], NULL, race_first_use, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_ok(r[i].rc);
        assert_int_equal(r[i].n, r[0].n);
        for (size_t j = 0; j < r[0].n; j++) assert_string_equal(r[i].first[j], r[0].first[j]);
    }
    aisle_model_free(m);
}

static int drop_multiples_of_3(void *user, const char *key, size_t index) {
    (void)user, (void)key;
    return index % 3 != 0;
}

/* The tiled batch (3 item tiles, 3 user blocks, unknown users) against
 * one-user calls: same items and scores up to sgemm's rounding (items
 * compared where the scores around them are apart by more than it). */
static void check_batch(const aisle_model *m, aisle_rec_options *o, size_t k) {
    int int8 = 0;
    size_t nu = model_n_users(m) + 3;
    const char **keys = calloc(nu, sizeof *keys), **bi = calloc(nu * k, sizeof *bi);
    float *bs = calloc(nu * k, sizeof *bs), *s1 = calloc(k, sizeof *s1);
    size_t *bn = calloc(nu, sizeof *bn);
    const char **i1 = calloc(k, sizeof *i1);
    assert_true(keys && bi && bs && bn && s1 && i1);
    for (size_t r = 0; r < nu; r++) keys[r] = r % 100 == 7 ? "stranger" : keys_at(&m->users, (uint32_t)(r * 13 % (nu - 3)));
    assert_ok(aisle_recommend_batch(m, keys, nu, k, o, bi, bs, bn));
    for (size_t r = 0; r < nu; r++) {
        size_t n1;
        assert_ok(aisle_recommend(m, keys[r], k, o, i1, s1, &n1));
        assert_ok(aisle_recommend_scan_stats(NULL, NULL, &int8));
        assert_int_equal(bn[r], n1);
        if (int8) /* the batch ran the same scan: identical */
            for (size_t i = 0; i < n1; i++) {
                assert_string_equal(bi[r * k + i], i1[i]);
                assert_memory_equal(&bs[r * k + i], &s1[i], sizeof(float));
            }
        for (size_t i = 0; i < n1; i++) {
            float tol = 1e-4f * (1 + fabsf(s1[i]));
            assert_true(fabsf(bs[r * k + i] - s1[i]) <= tol);
            bool apart = (i == 0 || s1[i - 1] - s1[i] > 2 * tol) && (i + 1 == n1 || s1[i] - s1[i + 1] > 2 * tol);
            if (apart) assert_string_equal(bi[r * k + i], i1[i]);
        }
    }
    free(keys), free(bi), free(bs), free(bn), free(s1), free(i1);
}

static void test_tiled_batch_equals_single_calls(void **state) {
    (void)state;
    aisle_model *m = train_catalog(2500, 16, 2);
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "threads", "2"));
    check_batch(m, o, 10);
    check_batch(m, o, 1100); /* past BATCH_MAX_K: the per-user path */
    assert_ok(aisle_rec_options_set(o, "scan", "int8")); /* the int8 scan per user: bit for bit */
    check_batch(m, o, 10);
    check_batch(m, o, 300);
    assert_ok(aisle_rec_options_set(o, "scan", "auto"));
    assert_ok(aisle_rec_options_set(o, "exclude_seen", "false"));
    const char *deny[] = {"p0", "p1", "p2", "p2048"}, *allow[] = {"p0", "p5", "p1500", "p2400", "p2499", "p77"};
    assert_ok(aisle_rec_options_deny(o, deny, 4));
    check_batch(m, o, 10);
    assert_ok(aisle_rec_options_set_filter(o, drop_multiples_of_3, NULL));
    check_batch(m, o, 25);
    assert_ok(aisle_rec_options_allow(o, allow, 6));
    check_batch(m, o, 10);
    aisle_rec_options_free(o);
    aisle_model_free(m);
}

static void test_int8_scan_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds = catalog_data(2000);
    aisle_rec_options *o = opts_with("int8", "true");
    const char *items[300];
    size_t n;
    int ok = 0;
    for (uint64_t at = 1; at < 200 && !ok; at++) {
        aisle_model *m = tu_train(ds, "model=als factors=8 epochs=1 threads=1"); /* index not built yet */
        tu_failalloc_install(at, 1);
        int rc = aisle_recommend(m, "u2", 300, o, items, NULL, &n); /* k = 300 > the stack buffers */
        tu_failalloc_remove();
        assert_true(rc == AISLE_OK || rc == AISLE_ENOMEM);
        ok = rc == AISLE_OK;
        if (ok) assert_int_equal(n, 300);
        aisle_model_free(m);
    }
    assert_true(ok);
    aisle_rec_options_free(o);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int8_scan_equals_fp32_on_random_models),
        cmocka_unit_test(test_int8_kernels_agree),
        cmocka_unit_test(test_int8_scan_equals_fp32_on_a_trained_model),
        cmocka_unit_test(test_int8_scan_with_k_at_least_n_items_and_deny_list),
        cmocka_unit_test(test_int8_scan_breaks_ties_like_fp32),
        cmocka_unit_test(test_int8_scan_with_nan_inf_zero_and_tiny_rows),
        cmocka_unit_test(test_int8_scan_with_item_biases),
        cmocka_unit_test(test_int8_scan_for_anonymous_sessions),
        cmocka_unit_test(test_scan_choice_auto_filter_and_allow),
        cmocka_unit_test(test_int8_index_built_once_under_racing_readers),
        cmocka_unit_test(test_int8_scan_allocation_failures),
        cmocka_unit_test(test_tiled_batch_equals_single_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
