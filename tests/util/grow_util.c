/* grow_util.c - see grow_util.h. */
#include "util/grow_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tu_copy_product(aisle_catalog *dst, const aisle_catalog *src, const char *key, const char *as, const char *extra) {
    const char *f[4];
    static const char *const names[4] = {"title", "description", "category", "brand"};
    for (int i = 0; i < 4; i++) assert_ok(aisle_catalog_item_text(src, key, names[i], &f[i]));
    double price;
    assert_ok(aisle_catalog_item_price(src, key, &price));
    char title[256];
    snprintf(title, sizeof title, "%s%s%s", f[0], extra ? " " : "", extra ? extra : "");
    assert_ok(aisle_catalog_add_item(dst, as, title, f[1], f[2], f[3], price));
    size_t n;
    assert_ok(aisle_catalog_item_attribute_count(src, key, &n));
    for (size_t a = 0; a < n; a++) {
        const char *name, *value;
        assert_ok(aisle_catalog_item_attribute(src, key, a, &name, &value));
        assert_ok(aisle_catalog_set_attribute(dst, as, name, value));
    }
}

aisle_catalog *tu_catalog_without(const aisle_catalog *full, const char *prefix) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    size_t n;
    assert_ok(aisle_catalog_count(full, &n));
    for (size_t i = 0; i < n; i++) {
        const char *key;
        assert_ok(aisle_catalog_key(full, i, &key));
        if (strncmp(key, prefix, strlen(prefix)) != 0) tu_copy_product(cat, full, key, key, NULL);
    }
    return cat;
}

int tu_add_step(void *vc) {
    const tu_add_ctx *c = vc;
    aisle_model *m;
    int rc = aisle_model_load_buffer(&m, c->buf, c->len, NULL);
    if (rc) return rc;
    size_t ni, nu, ni_now, nu_now, added = 7;
    assert_ok(aisle_model_item_count(m, &ni)); /* only the n-th allocation fails: these run */
    assert_ok(aisle_model_user_count(m, &nu));
    float before, now;
    rc = aisle_score(m, c->user, c->item, &before);
    if (!rc) rc = c->side ? aisle_model_add_users(m, c->cat, &added) : aisle_model_add_items(m, c->cat, &added);
    if (rc == AISLE_ENOMEM && added != 7) { /* the add failed (the score did not): nothing changed */
        assert_int_equal(added, 0);
        assert_ok(aisle_model_user_count(m, &nu_now));
        assert_ok(aisle_model_item_count(m, &ni_now));
        assert_int_equal(nu_now, nu);
        assert_int_equal(ni_now, ni);
        assert_ok(aisle_score(m, c->user, c->item, &now));
        assert_memory_equal(&now, &before, sizeof now);
    }
    if (!rc) {
        assert_int_equal(added, c->rows);
        rc = aisle_score(m, c->new_user, c->new_item, &now); /* may allocate (pair): may fail too */
    }
    aisle_model_free(m);
    return rc;
}

void tu_late_products(aisle_catalog *day, const aisle_catalog *cat, int first, int n) {
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "late%d", first + i);
        tu_copy_product(day, cat, i % 2 ? "newspade" : "newmug", key, NULL);
    }
}

typedef struct reader {
    aisle_server *s;
    atomic_int *stop;
    int id, users;
    const char *probe;
    atomic_long calls;
} reader;

static void *reader_run(void *arg) {
    reader *c = arg;
    char u[32];
    for (int round = 0; !atomic_load(c->stop); round++) {
        const aisle_model *m;
        assert_ok(aisle_server_acquire(c->s, &m));
        snprintf(u, sizeof u, "u%d", (round * 7 + c->id) % c->users);
        const char *top[8];
        float sc[8];
        size_t n;
        int rc = aisle_recommend(m, u, 8, NULL, top, sc, &n);
        float s;
        int rs = aisle_score(m, u, c->probe, &s);
        assert_ok(aisle_server_release(c->s, m));
        if (rc || (rs && rs != AISLE_ENOTFOUND)) abort();
        atomic_fetch_add(&c->calls, 1);
    }
    return NULL;
}

static long reader_calls(reader *r, int n) {
    long total = 0;
    for (int i = 0; i < n; i++) total += atomic_load(&r[i].calls);
    return total;
}

/* Waits until the readers have made more than `above` calls in all. */
static long reader_wait(reader *r, int n, long above) {
    long made;
    for (int spin = 0; (made = reader_calls(r, n)) <= above; spin++) {
        if (spin >= 300000) fail_msg("the readers made no call in 30 s");
        usleep(100);
    }
    return made;
}

long tu_serve_while_adding(aisle_server *s, int readers, int users, const char *probe, int batches,
                           void (*add)(void *ctx, int batch), void *ctx) {
    enum { MAX_READERS = 8 };
    assert_true(readers > 0 && readers <= MAX_READERS);
    atomic_int stop = 0;
    pthread_t th[MAX_READERS];
    reader rc[MAX_READERS];
    for (int i = 0; i < readers; i++) {
        rc[i].s = s, rc[i].stop = &stop, rc[i].id = i, rc[i].users = users, rc[i].probe = probe;
        atomic_init(&rc[i].calls, 0);
        assert_int_equal(pthread_create(&th[i], NULL, reader_run, &rc[i]), 0);
    }
    long seen = 0;
    for (int b = 0; b < batches; b++) {
        seen = reader_wait(rc, readers, seen); /* a read between any two batches */
        add(ctx, b);
    }
    reader_wait(rc, readers, seen); /* and after the last */
    atomic_store(&stop, 1);
    for (int i = 0; i < readers; i++) pthread_join(th[i], NULL);
    return reader_calls(rc, readers);
}
