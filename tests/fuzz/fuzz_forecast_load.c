/* fuzz_forecast_load.c - libFuzzer target: the forecast file loader and
 * the forecast options.  An input starting with '#' is option text: the
 * rest is parsed into a config (bounded so one input stays fast) and a
 * forecast is trained with it on a small fixed shop; any failure must come
 * with a message.  Any other input is a forecast file image: it must load
 * or fail with a status and a message; a forecast that loads must answer
 * for every product, save, and load again to the same forecasts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_forecasts(const aisle_forecast *fc) {
    size_t n = 0;
    if (aisle_forecast_item_count(fc, &n) != AISLE_OK) abort();
    for (size_t i = 0; i < n && i < 64; i++) {
        const char *key;
        double p[3][5], rop, qty, parts[5];
        const char *names[5];
        size_t np;
        if (aisle_forecast_item_key(fc, i, &key) != AISLE_OK) abort();
        if (aisle_forecast_item(fc, key, 5, NULL, p[0], p[1], p[2]) != AISLE_OK) abort();
        for (int h = 0; h < 5; h++)
            if (!(p[0][h] >= 0 && p[0][h] <= p[1][h] && p[1][h] <= p[2][h])) abort();
        if (aisle_forecast_reorder(fc, key, 2, 1, 0.95, 3, &rop, &qty) != AISLE_OK) abort();
        if (aisle_forecast_explain(fc, key, 2, names, parts, 5, &np) != AISLE_OK) abort();
    }
}

static void try_load(const uint8_t *data, size_t size, const aisle_config *cfg) {
    aisle_forecast *fc = NULL;
    if (aisle_forecast_load_buffer(&fc, data, size, cfg) != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || fc) abort();
        return;
    }
    check_forecasts(fc);
    void *img = NULL;
    size_t len = 0;
    if (aisle_forecast_save_buffer(fc, cfg, &img, &len) != AISLE_OK) abort();
    aisle_forecast *again = NULL;
    if (aisle_forecast_load_buffer(&again, img, len, cfg) != AISLE_OK) abort(); /* our own output loads */
    const char *key;
    double a[4], b[4];
    if (aisle_forecast_item_key(fc, 0, &key) == AISLE_OK) {
        if (aisle_forecast_item(fc, key, 4, NULL, NULL, a, NULL) != AISLE_OK ||
            aisle_forecast_item(again, key, 4, NULL, NULL, b, NULL) != AISLE_OK || memcmp(a, b, sizeof a) != 0)
            abort();
    }
    aisle_forecast_free(again);
    aisle_free(img);
    aisle_forecast_free(fc);
}

static void try_options(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    aisle_config *cfg = NULL;
    aisle_dataset *ds = NULL;
    if (!text || aisle_config_new(&cfg) != AISLE_OK || aisle_dataset_new(&ds) != AISLE_OK) goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    if (aisle_config_parse(cfg, text) != AISLE_OK) {
        if (aisle_last_error()[0] == '\0') abort();
        goto out;
    }
    /* bound the work one input may ask for */
    aisle_config_set_int(cfg, "forecast_trees", 3);
    aisle_config_set_int(cfg, "forecast_max_rows", 1000);
    aisle_config_set_int(cfg, "threads", 1);
    int64_t h = 0;
    if (aisle_config_get_int(cfg, "horizon", &h) == AISLE_OK && h > 16) aisle_config_set_int(cfg, "horizon", 16);
    static const char *const items[] = {"mug", "tea", "kettle", "cups"};
    for (int d = 0; d < 120; d++)
        for (int i = 0; i < 4; i++)
            if ((d * (i + 1)) % (i + 2) == 0)
                aisle_dataset_add_event(ds, "u", items[i], "purchase", 1 + (d + i) % 5,
                                        1704067200 + (int64_t)d * 86400 + 3600 * i);
    aisle_forecast *fc = NULL;
    if (aisle_forecast_train(ds, NULL, cfg, &fc) != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || fc) abort();
        goto out;
    }
    check_forecasts(fc);
    aisle_forecast_free(fc);
out:
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size && data[0] == '#') {
        if (size < 512) try_options(data + 1, size - 1);
        return 0;
    }
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) != AISLE_OK) return 0;
    aisle_config_set_int(cfg, "max_model_bytes", 1 << 24);
    try_load(data, size, cfg);
    aisle_config_free(cfg);
    return 0;
}
