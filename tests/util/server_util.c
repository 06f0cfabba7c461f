/* server_util.c - see server_util.h. */
#include "server_util.h"

#include <stdio.h>
#include <string.h>

#include "models/models.h"
#include "test_util.h"

aisle_dataset *tu_shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[16], it[16];
    for (int i = 0; i < TU_SHOP_ITEMS; i++) {
        snprintf(u, sizeof u, "u%d", i % TU_SHOP_USERS);
        snprintf(it, sizeof it, "p%d", i);
        assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 0));
    }
    for (int r = 0; r < TU_SHOP_USERS; r++)
        for (int t = 0; t < 5; t++) {
            snprintf(u, sizeof u, "u%d", r);
            snprintf(it, sizeof it, "p%d", (r * 13 + t * 31) % TU_SHOP_ITEMS);
            assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 0));
        }
    return ds;
}

bool tu_has_pair(const aisle_model *m, const char *user, const char *item) {
    int64_t u = keys_find(&m->users, user, strlen(user)), j = keys_find(&m->items, item, strlen(item));
    if (u < 0 || j < 0) return false;
    model_row r = model_history_row(m, (uint32_t)u);
    for (size_t p = 0; p < r.n; p++)
        if (r.items[p] == (uint32_t)j) return r.values[p] > 0;
    return false;
}

void tu_assert_same_history(const aisle_model *a, const aisle_model *b) {
    assert_int_equal(model_n_users(a), model_n_users(b));
    assert_int_equal(model_history_nnz(a), model_history_nnz(b));
    for (uint32_t u = 0; u < model_n_users(a); u++) {
        model_row x = model_history_row(a, u), y = model_history_row(b, u);
        assert_int_equal(x.n, y.n);
        if (!x.n) continue;
        assert_memory_equal(x.items, y.items, x.n * sizeof *x.items);
        assert_memory_equal(x.values, y.values, x.n * sizeof *x.values);
        assert_memory_equal(x.last_time, y.last_time, x.n * sizeof *x.last_time);
        assert_memory_equal(x.count, y.count, x.n * sizeof *x.count);
    }
}

aisle_model *tu_model_copy(const void *buf, size_t len) {
    aisle_model *m;
    assert_ok(aisle_model_load_buffer(&m, buf, len, NULL));
    return m;
}

void *tu_model_bytes(const aisle_dataset *ds, const char *options, size_t *len) {
    aisle_model *m = tu_train(ds, options);
    void *buf;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, len));
    aisle_model_free(m);
    return buf;
}
