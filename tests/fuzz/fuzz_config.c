/* fuzz_config.c - libFuzzer target: option text parsing.  Any input must
 * either parse or fail with a status and a message; parsed text must
 * round-trip through aisle_config_to_string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) == AISLE_OK) {
        int rc = aisle_config_parse(cfg, text);
        if (rc != AISLE_OK && aisle_last_error()[0] == '\0') abort(); /* every failure explains itself */
        size_t need = 0;
        aisle_config_to_string(cfg, NULL, 0, &need);
        char *out = malloc(need + 1);
        if (out && aisle_config_to_string(cfg, out, need + 1, NULL) == AISLE_OK) {
            aisle_config *again = NULL;
            if (aisle_config_new(&again) == AISLE_OK) {
                if (aisle_config_parse(again, out) != AISLE_OK) abort(); /* our own output must parse */
                aisle_config_free(again);
            }
        }
        free(out);
        aisle_config_free(cfg);
    }
    free(text);
    return 0;
}
