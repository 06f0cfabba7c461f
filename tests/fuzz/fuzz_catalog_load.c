/* fuzz_catalog_load.c - libFuzzer target: the product-catalog loader (the
 * first byte picks delimiter/encoding/leniency).  Any input must load or
 * fail with a message, never crash or half-load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const variants[] = {
    "delimiter=comma header=yes",
    "delimiter=pipe header=no encoding=latin1 catalog_columns=\"key=1,title=2\"",
    "delimiter=tab header=yes lenient=true",
    "delimiter=comma header=yes catalog_columns=\"key=item_id,title=title,description=description,category=category,brand=brand,price=price\"",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *opts = variants[data[0] % (sizeof variants / sizeof variants[0])];
    aisle_catalog *cat = NULL;
    aisle_config *cfg = NULL;
    if (aisle_catalog_new(&cat) || aisle_config_new(&cfg)) abort();
    if (aisle_config_parse(cfg, opts) != AISLE_OK) abort();
    int rc = aisle_catalog_load_buffer(cat, data + 1, size - 1, "fuzz-catalog.csv", cfg);
    size_t n = 0;
    aisle_catalog_count(cat, &n);
    if (rc != AISLE_OK && (aisle_last_error()[0] == '\0' || n != 0)) abort();
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    return 0;
}
