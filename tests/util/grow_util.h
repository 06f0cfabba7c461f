/* grow_util.h - the set-up shared by the suites of products and shoppers
 * added to a trained model from a catalog (test_hybrid_grow.c,
 * test_pair_grow.c): catalogs of "yesterday" and "today", the
 * allocation-failure step of an add, and readers serving from an
 * aisle_server while a writer adds. */
#ifndef AISLE_TEST_GROW_UTIL_H
#define AISLE_TEST_GROW_UTIL_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/test_util.h"

/* Product `key` of src copied into dst as `as` (title, description,
 * category, brand, price, attributes), its title followed by `extra`
 * (NULL: nothing).  Fails the test on error. */
void tu_copy_product(aisle_catalog *dst, const aisle_catalog *src, const char *key, const char *as, const char *extra);
/* A copy of `full` without the products whose key starts with `prefix`
 * (what the model knew yesterday). */
aisle_catalog *tu_catalog_without(const aisle_catalog *full, const char *prefix);

/* One point of an allocation-failure sweep (tu_oom_sweep) of adding `cat`
 * (side 0: products, 1: shoppers) to a model loaded from buf: a failed add
 * is AISLE_ENOMEM with nothing changed (counts, the score of user/item to
 * the bit); a successful one adds `rows` rows and scores new_user /
 * new_item (that score may fail with AISLE_ENOMEM too). */
typedef struct tu_add_ctx {
    const void *buf;
    size_t len;
    const aisle_catalog *cat;
    int side;
    const char *user, *item;         /* a trained pair */
    const char *new_user, *new_item; /* a pair with an added row */
    size_t rows;
} tu_add_ctx;
int tu_add_step(void *ctx);

/* A reader of a server: recommends 8 items to users u0..u(users-1) in
 * turn and scores `probe` (an item being added: there or not, never half
 * added) until *stop; aborts on any other failure. */
typedef struct tu_reader {
    aisle_server *s;
    atomic_int *stop;
    int id, users;
    const char *probe;
    atomic_long calls;
} tu_reader;
void *tu_reader_run(void *arg);
/* Calls made by readers r[0..n) in all. */
long tu_reader_calls(tu_reader *r, int n);
/* Waits (up to 30 s, then fails the test) until the readers have made
 * more than `above` calls in all, however the scheduler orders the
 * threads (under a loaded ASan run a writer once finished before any
 * reader started); returns the calls made. */
long tu_reader_wait(tu_reader *r, int n, long above);

#endif
