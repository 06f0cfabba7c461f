/* test_shop.h - the two-taste shop the content-aware kinds (hybrid, pair)
 * are tested on, and the 8-thread serving check they share.
 *
 * Even items are mugs, odd ones garden spades, and the item keys say
 * nothing (PREFIX0, PREFIX1, ...); even users only touch mugs, odd users
 * only spades.  With ratings they rate their side 5 and, for their first
 * `dislikes` items, the opposite product 1.  The catalog describes the
 * items by title (and, `rich`, category path, brand and price) and adds
 * two brand-new products that no event mentions: "newmug" and "newspade". */
#ifndef AISLE_TEST_SHOP_H
#define AISLE_TEST_SHOP_H

#include <stdbool.h>

#include "util/test_util.h"

typedef struct tu_shop {
    int users, items, per_user; /* users u0.., items prefix0.. */
    int stride;                 /* user u's t-th item: 2 * ((u * stride + t * 7) % (items / 2)) + (u & 1) */
    const char *prefix;         /* item key prefix */
    const char *event;          /* event type of implicit shops ("view", "purchase") */
    int dislikes;               /* ratings: first items of a user whose opposite product is rated 1 */
    const char *title_word;     /* titles: "ceramic mug WORD 4" */
    bool rich;                  /* catalog with category, brand and price */
} tu_shop;

/* A config parsed from options, then extra (NULL: none); fails the test
 * on error. */
aisle_config *tu_shop_config(const char *options, const char *extra);
/* The events (ratings or spec->event); fails the test on error. */
aisle_dataset *tu_shop_events(const tu_shop *spec, bool ratings);
/* The catalog of spec->items products plus newmug and newspade. */
aisle_catalog *tu_shop_catalog(const tu_shop *spec);
/* True when item key names a mug (an even item or newmug). */
bool tu_shop_is_mug(const tu_shop *spec, const char *key);
/* Share of the users that score the new product of their side above the
 * other new product. */
double tu_shop_cold_preference(const aisle_model *m, const tu_shop *spec);
/* Mean over users of how many of the shop's products the user scores
 * above the new product of their side (0: it leads every list). */
double tu_shop_cold_rank(const aisle_model *m, const tu_shop *spec);
/* Fails allocation k = 1, 2, ... (up to max_k) of
 * aisle_model_train_with_features(ds, cat, users, cfg) until training
 * succeeds; every failure must be AISLE_ENOMEM with no model and nothing
 * leaked.  Returns the number of failures (the caller checks it is more
 * than a handful, i.e. the sweep reached the training paths). */
int tu_shop_train_failures(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_catalog *users,
                           const aisle_config *cfg, uint64_t max_k);
/* Scores newmug for every user, then 8 threads each make `reps` rounds of
 * aisle_score (must give the same bits) and aisle_recommend (4 items) for
 * every user of the shared model; fails the test on any difference. */
void tu_shop_serve_from_8_threads(const aisle_model *m, const tu_shop *spec, int reps);

#endif
