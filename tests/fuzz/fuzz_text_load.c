/* fuzz_text_load.c - libFuzzer target: the labelled-text loader (the first
 * byte picks delimiter/columns/leniency).  Any input must load or fail
 * with a message, never crash or half-load (a failed load leaves the
 * texts that were there before). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const variants[] = {
    "delimiter=comma",
    "delimiter=tab header=no columns=\"text=2,label=1\"",
    "delimiter=comma lenient=true columns=\"text=utterance,label=intent\"",
    "delimiter=comma header=yes columns=\"text=text\"",
    "delimiter=semicolon encoding=latin1 lenient=true",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *opts = variants[data[0] % (sizeof variants / sizeof variants[0])];
    aisle_texts *t = NULL;
    aisle_config *cfg = NULL;
    if (aisle_texts_new(&t) || aisle_config_new(&cfg)) abort();
    if (aisle_config_parse(cfg, opts) != AISLE_OK) abort();
    if (aisle_texts_add(t, "kept", AISLE_NUL_TERMINATED, "before")) abort();
    int rc = aisle_texts_load_buffer(t, data + 1, size - 1, "fuzz-texts.csv", cfg);
    size_t n = 0, nl = 0;
    aisle_texts_count(t, &n);
    aisle_texts_label_count(t, &nl);
    if (rc != AISLE_OK && (aisle_last_error()[0] == '\0' || n != 1 || nl != 1)) abort();
    /* every loaded text is valid, NUL-free UTF-8 with its length */
    for (size_t i = 0; i < n; i++) {
        const char *text, *label;
        if (aisle_texts_at(t, i, &text, &label) || !text || !label) abort();
    }
    aisle_config_free(cfg);
    aisle_texts_free(t);
    return 0;
}
