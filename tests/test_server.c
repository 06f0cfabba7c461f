/* test_server.c - aisle_server (src/serve/server.c): leases outlive a
 * swap, updates are replayed onto swapped-in models, misuse is reported,
 * and a stress run of 8 readers + 1 writer (updates, new items, new
 * users) + 1 swapper loses nothing (AISLE_STRESS_SECONDS, default 2; make
 * check-tsan runs it under TSan, make stress for 30 s; docs/SERVING.md). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/models.h"
#include "util/server_util.h"
#include "util/test_util.h"

enum { USERS = TU_SHOP_USERS, ITEMS = TU_SHOP_ITEMS, READERS = 8 };

typedef struct lease_holder {
    aisle_server *s;
    const aisle_model *m;
    atomic_int holding, swapped;
    int rc;
} lease_holder;

static void *hold_lease(void *arg) {
    lease_holder *lh = arg;
    lh->rc = aisle_server_acquire(lh->s, &lh->m);
    atomic_store(&lh->holding, 1);
    if (lh->rc) return NULL;
    while (!atomic_load(&lh->swapped)) sched_yield();
    const char *items[10];
    size_t n = 0;
    lh->rc = aisle_recommend(lh->m, "u3", 10, NULL, items, NULL, &n);
    if (!lh->rc && (n == 0 || strlen(items[0]) == 0)) lh->rc = AISLE_EINTERNAL;
    int rc = aisle_server_release(lh->s, lh->m);
    if (!lh->rc) lh->rc = rc;
    return NULL;
}

static void test_lease_outlives_swap_and_updates_are_replayed(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_ptr_equal(a, m);
    const char *items[10];
    size_t n;
    assert_ok(aisle_recommend(a, "u1", 10, NULL, items, NULL, &n));
    assert_ok(aisle_server_release(s, a));

    const char *add[] = {"p7", "p8"};
    assert_ok(aisle_server_update_user(s, "u3", add, NULL, 2));
    assert_status_msg(aisle_server_update_user(s, "ghost", add, NULL, 1), AISLE_ENOTFOUND, "ghost");
    /* a lease held by another thread across the swap (a thread never
     * swaps or updates while it holds a lease itself: header rules) */
    lease_holder lh = {.s = s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hold_lease, &lh), 0);
    while (!atomic_load(&lh.holding)) sched_yield();
    assert_true(tu_has_pair(lh.m, "u3", "p7") && tu_has_pair(lh.m, "u3", "p8"));
    aisle_model *fresh = tu_model_copy(buf, len);
    assert_false(tu_has_pair(fresh, "u3", "p7"));
    size_t replayed = 0;
    assert_ok(aisle_server_swap(s, fresh, 0, &replayed));
    assert_int_equal(replayed, 1);
    atomic_store(&lh.swapped, 1);
    pthread_join(th, NULL);
    assert_ok(lh.rc); /* the old model was still alive for its recommend; its release freed it */
    assert_ptr_equal(lh.m, m);
    const aisle_model *b;
    assert_ok(aisle_server_acquire(s, &b));
    assert_ptr_equal(b, fresh);
    assert_true(tu_has_pair(b, "u3", "p7") && tu_has_pair(b, "u3", "p8"));
    assert_ok(aisle_server_release(s, b));
    /* a model trained after the update: nothing to replay, and the
     * journal forgets it */
    aisle_model *third = tu_model_copy(buf, len);
    assert_ok(aisle_server_swap(s, third, INT64_MAX, &replayed));
    assert_int_equal(replayed, 0);
    aisle_model *fourth = tu_model_copy(buf, len);
    assert_ok(aisle_server_swap(s, fourth, 0, &replayed));
    assert_int_equal(replayed, 0);
    assert_ok(aisle_server_acquire(s, &b));
    assert_false(tu_has_pair(b, "u3", "p7"));
    assert_ok(aisle_server_release(s, b));

    assert_status_msg(aisle_server_release(s, b), AISLE_EINVAL, "not leased");
    assert_status_msg(aisle_server_acquire(s, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_server_swap(s, NULL, 0, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_server_new(NULL, fourth), AISLE_EINVAL, NULL);
    aisle_server_free(s);
    aisle_server_free(NULL);
    aisle_free(buf);
    aisle_dataset_free(ds);
}

static void test_server_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    size_t len;
    void *buf = tu_model_bytes(ds, "model=als factors=4 epochs=1 threads=1", &len);
    const char *add[] = {"p1", "p2", "p3"};
    int ok = 0;
    for (uint64_t at = 1; at < 400 && !ok; at++) {
        aisle_model *first = tu_model_copy(buf, len), *next = tu_model_copy(buf, len);
        aisle_server *s = NULL;
        tu_failalloc_install(at, 1);
        int rc = aisle_server_new(&s, first);
        int rc2 = rc ? rc : aisle_server_update_user(s, "u5", add, NULL, 3);
        int rc3 = rc2 ? rc2 : aisle_server_swap(s, next, 0, NULL);
        tu_failalloc_remove();
        assert_true(rc == AISLE_OK || rc == AISLE_ENOMEM);
        assert_true(rc2 == AISLE_OK || rc2 == AISLE_ENOMEM);
        assert_true(rc3 == AISLE_OK || rc3 == AISLE_ENOMEM);
        if (rc) aisle_model_free(first);
        if (rc3 || !s) aisle_model_free(next); /* not taken */
        if (!rc2 && s) { /* an accepted update is never lost, even when the swap failed */
            const aisle_model *a;
            assert_ok(aisle_server_acquire(s, &a));
            assert_true(tu_has_pair(a, "u5", "p1"));
            assert_ok(aisle_server_release(s, a));
        }
        aisle_server_free(s);
        ok = rc3 == AISLE_OK;
    }
    assert_true(ok);
    aisle_free(buf);
    aisle_dataset_free(ds);
}

/* The stress run: 8 readers recommend for trained and newly added users
 * and ask for items similar to newly added items, while one writer cycles
 * through an update of a trained user, a new item and a new user who
 * bought it, and one swapper keeps swapping in snapshots (changes since
 * the snapshot are replayed onto it).  Afterwards every writer step must
 * be in the final model. */
enum { DIM = 8 };

typedef struct stress {
    aisle_server *s;
    atomic_int stop;
    atomic_long reads, swaps;
    atomic_long steps; /* writer steps completed: their users and items exist */
    atomic_int failed;
    char failure[200];
} stress;

static void stress_fail(stress *st, const char *what) {
    if (atomic_exchange(&st->failed, 1) == 0)
        snprintf(st->failure, sizeof st->failure, "%s: %s", what, aisle_last_error());
    atomic_store(&st->stop, 1);
}

/* What writer step i does. */
static void step_keys(long i, char *user, char *item, char *new_item, char *new_user) {
    snprintf(user, 24, "u%ld", i % USERS);
    snprintf(item, 24, "p%ld", (i * 7 + i / USERS) % ITEMS);
    snprintf(new_item, 24, "q%ld", i);
    snprintf(new_user, 24, "n%ld", i);
}

static void step_vector(long i, float *v) {
    for (int k = 0; k < DIM; k++) v[k] = (float)((i * 31 + k * 7) % 97) / 97.0f - 0.5f;
}

static void *reader(void *arg) {
    stress *st = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    while (!atomic_load(&st->stop)) {
        long done = atomic_load(&st->steps); /* before the lease: the model holds these steps */
        const aisle_model *m;
        if (aisle_server_acquire(st->s, &m)) return stress_fail(st, "acquire"), NULL;
        char user[24], item[24];
        long r = (long)rand_r(&seed);
        if (done > 0 && r % 2) snprintf(user, sizeof user, "n%ld", r / 2 % done);
        else snprintf(user, sizeof user, "u%ld", r / 2 % USERS);
        const char *items[10];
        float scores[10];
        size_t n = 0;
        int rc = aisle_recommend(m, user, 10, NULL, items, scores, &n);
        for (size_t i = 0; !rc && i < n; i++)
            if (!items[i] || (items[i][0] != 'p' && items[i][0] != 'q')) rc = AISLE_EINTERNAL;
        if (!rc && done > 0) {
            snprintf(item, sizeof item, "q%ld", r % done);
            rc = aisle_similar_items(m, item, 10, NULL, items, scores, &n);
        }
        if (aisle_server_release(st->s, m) || rc) return stress_fail(st, "read"), NULL;
        atomic_fetch_add(&st->reads, 1);
    }
    return NULL;
}

static void *writer(void *arg) {
    stress *st = arg;
    for (long i = 0; !atomic_load(&st->stop); i++) {
        char user[24], item[24], new_item[24], new_user[24];
        step_keys(i, user, item, new_item, new_user);
        float v[DIM];
        step_vector(i, v);
        const char *items[] = {item};
        const char *bought[] = {new_item, item};
        if (aisle_server_update_user(st->s, user, items, NULL, 1)) return stress_fail(st, "update"), NULL;
        if (aisle_server_add_item(st->s, new_item, v, DIM)) return stress_fail(st, "add item"), NULL;
        if (aisle_server_add_user(st->s, new_user, bought, NULL, 2)) return stress_fail(st, "add user"), NULL;
        atomic_store(&st->steps, i + 1);
    }
    return NULL;
}

/* Swaps in a snapshot of the current model, as a retrain on the data up
 * to time t would give it: changes made from t on are replayed (some of
 * them are in the snapshot already and apply twice, which loses nothing),
 * older ones leave the journal, so it stays short. */
static void *swapper(void *arg) {
    stress *st = arg;
    while (!atomic_load(&st->stop)) {
        int64_t t = (int64_t)time(NULL); /* before the lease: the leased model holds every change made before t */
        const aisle_model *cur;
        void *snap = NULL;
        size_t len = 0;
        if (aisle_server_acquire(st->s, &cur)) return stress_fail(st, "swapper acquire"), NULL;
        int rc = aisle_model_save_buffer(cur, NULL, &snap, &len);
        if (aisle_server_release(st->s, cur) || rc) return aisle_free(snap), stress_fail(st, "snapshot"), NULL;
        aisle_model *m;
        rc = aisle_model_load_buffer(&m, snap, len, NULL);
        aisle_free(snap);
        if (rc) return stress_fail(st, "load"), NULL;
        if (aisle_server_swap(st->s, m, t, NULL)) {
            aisle_model_free(m);
            return stress_fail(st, "swap"), NULL;
        }
        atomic_fetch_add(&st->swaps, 1);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Every writer step's effect, checked on the final model. */
static void check_steps(const aisle_model *m, long steps) {
    const model_factors *f = m->state;
    for (long i = 0; i < steps; i++) {
        char user[24], item[24], new_item[24], new_user[24];
        step_keys(i, user, item, new_item, new_user);
        float v[DIM];
        step_vector(i, v);
        if (!tu_has_pair(m, user, item)) fail_msg("update %ld (%s, %s) lost", i, user, item);
        int64_t j = keys_find(&m->items, new_item, strlen(new_item));
        if (j < 0) fail_msg("new item %s of step %ld lost", new_item, i);
        if (memcmp(f->item + (size_t)j * DIM, v, sizeof v)) fail_msg("new item %s has another vector", new_item);
        if (!tu_has_pair(m, new_user, new_item) || !tu_has_pair(m, new_user, item))
            fail_msg("new user %s of step %ld or their events lost", new_user, i);
    }
    assert_int_equal(m->items.n, ITEMS + (size_t)steps);
    assert_int_equal(m->users.n, USERS + (size_t)steps);
}

static void test_stress_readers_writer_swapper_lose_no_update(void **state) {
    (void)state;
    const char *env = getenv("AISLE_STRESS_SECONDS");
    double seconds = env ? atof(env) : 2.0;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    stress st = {0};
    assert_ok(aisle_server_new(&st.s, m));
    pthread_t r[READERS], w, sw;
    for (int i = 0; i < READERS; i++) assert_int_equal(pthread_create(&r[i], NULL, reader, &st), 0);
    assert_int_equal(pthread_create(&w, NULL, writer, &st), 0);
    assert_int_equal(pthread_create(&sw, NULL, swapper, &st), 0);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    /* on a loaded machine a thread may not have run yet: every role does
     * its part at least once before the run ends */
    struct timespec tick = {0, 10000000};
    while (!atomic_load(&st.failed) && (!atomic_load(&st.reads) || !atomic_load(&st.steps) || !atomic_load(&st.swaps)))
        nanosleep(&tick, NULL);
    atomic_store(&st.stop, 1);
    for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);
    pthread_join(w, NULL);
    pthread_join(sw, NULL);
    if (atomic_load(&st.failed)) fail_msg("%s", st.failure);
    long steps = atomic_load(&st.steps);
    print_message("stress %.1f s: %ld reads, %ld writer steps (update, new item, new user), %ld swaps\n", seconds,
                  (long)atomic_load(&st.reads), steps, (long)atomic_load(&st.swaps));
    assert_true(atomic_load(&st.reads) > 0 && steps > 0 && atomic_load(&st.swaps) > 0);
    const aisle_model *cur;
    assert_ok(aisle_server_acquire(st.s, &cur));
    check_steps(cur, steps);
    assert_ok(aisle_server_release(st.s, cur));
    aisle_server_free(st.s);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_outlives_swap_and_updates_are_replayed),
        cmocka_unit_test(test_server_allocation_failures),
        cmocka_unit_test(test_stress_readers_writer_swapper_lose_no_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
