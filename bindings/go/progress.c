/* progress.c - the C side of Go progress callbacks: libaisle calls this
 * function pointer, which forwards to the exported Go function with the
 * cgo.Handle the binding stored as the callback's user pointer. */
#include <stdint.h>

#include "_cgo_export.h"

int aisle_go_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    return aisleGoProgressCall((uintptr_t)user, step, steps, loss, metric, elapsed);
}

int aisle_go_filter(void *user, const char *item_key, size_t item_index) {
    return aisleGoFilterCall((uintptr_t)user, (char *)item_key, item_index);
}
