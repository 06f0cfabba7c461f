/* server_util.h - a small shop and model checks shared by the aisle_server
 * suites (test_server.c, test_server_grow.c). */
#ifndef AISLE_SERVER_UTIL_H
#define AISLE_SERVER_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "aisle.h"

enum { TU_SHOP_USERS = 200, TU_SHOP_ITEMS = 400 };

/* Views of users u0..u199 over items p0..p399: every item once, then five
 * more per user. */
aisle_dataset *tu_shop(void);
/* Whether user has item in the model's history with a positive weight. */
bool tu_has_pair(const aisle_model *m, const char *user, const char *item);
/* Fails the test unless a and b hold the same history, row by row
 * (model_history_row: rows updated while serving included). */
void tu_assert_same_history(const aisle_model *a, const aisle_model *b);
/* The saved bytes of a model trained on ds with options (the model itself
 * is freed); *len gets their length.  Fails the test on error. */
void *tu_model_bytes(const aisle_dataset *ds, const char *options, size_t *len);
/* A model loaded from a saved buffer (fails the test on error). */
aisle_model *tu_model_copy(const void *buf, size_t len);

#endif
