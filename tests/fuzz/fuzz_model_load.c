/* fuzz_model_load.c - libFuzzer target: the model file loader.  Any input
 * must either load or fail with a status and a message, without crashing,
 * leaking or allocating more than max_model_bytes allows; a model that
 * loads must serve (serve_check.h: recommend, for items, similar, score,
 * explain, history, batch with k from 0 to huge, update_user), describe
 * itself, save, and load again to the same description.  Each input is tried as is and with its CRCs recomputed
 * (layout in docs/FORMAT.md), so mutations reach the structure checks
 * behind the CRCs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aisle.h"
#include "container_frame.h"
#include "serve_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One load with the input's hash choosing keys and k. */
static void try_load(const uint8_t *data, size_t size, void *cfg) {
    load_and_serve(data, size, cfg, (uint32_t)crc32(0, data, (uInt)size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) != AISLE_OK) return 0;
    aisle_config_set_int(cfg, "max_model_bytes", 1 << 24);
    fuzz_try_raw_and_fixed(data, size, try_load, cfg);
    aisle_config_free(cfg);
    return 0;
}
