/* grow_util.h - the set-up shared by the suites of products and shoppers
 * added to a trained model from a catalog (test_hybrid_grow.c,
 * test_pair_grow.c): catalogs of "yesterday" and "today", the
 * allocation-failure step of an add, and readers serving from an
 * aisle_server while a writer adds. */
#ifndef AISLE_TEST_GROW_UTIL_H
#define AISLE_TEST_GROW_UTIL_H

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

/* Products late<first>..late<first+n-1> copied into `day` from `cat`'s
 * "newmug" (even i) and "newspade" (odd i): a batch of new products. */
void tu_late_products(aisle_catalog *day, const aisle_catalog *cat, int first, int n);

/* Serving while a writer adds: `readers` threads (at most 8) recommend 8
 * items to users u0..u(users-1) in turn and score `probe` (an item being
 * added: there or not, never half added; any other failure aborts) while
 * add(ctx, b) runs for b = 0..batches-1, each after at least one more
 * read, however the scheduler orders the threads (under a loaded ASan run
 * a writer once finished before any reader started); after a last read
 * the readers stop.  Returns the calls the readers made.  A reader that
 * makes no call in 30 s fails the test. */
long tu_serve_while_adding(aisle_server *s, int readers, int users, const char *probe, int batches,
                           void (*add)(void *ctx, int batch), void *ctx);

#endif
