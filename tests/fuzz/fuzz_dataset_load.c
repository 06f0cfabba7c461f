/* fuzz_dataset_load.c - libFuzzer target: the behaviour-event loader.  The
 * first byte picks the options (delimiter, header, lenient, time format,
 * negative handling) so one target covers the CSV/TSV/'::' variants; gzip
 * input is recognised by its magic bytes.  Any input must load or fail
 * with AISLE_EFORMAT/EINVAL and a message; a strict failure must leave the
 * dataset exactly as before (checked by its counts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const variants[] = {
    "delimiter=comma header=yes columns=\"user=user_id,item=item_id,event=event,value=quantity,time=timestamp\"",
    "delimiter=tab header=no columns=\"user=1,item=2,value=3,time=4\"",
    "delimiter=:: header=no columns=\"user=1,item=2,value=3,time=4\"",
    "delimiter=comma header=yes lenient=true columns=\"user=CustomerID,item=StockCode,value=Quantity,time=InvoiceDate\" negative=subtract",
    "delimiter=semicolon header=auto lenient=true time_format=\"%m/%d/%y %H:%M\" columns=\"user=1,item=2\"",
    "delimiter=pipe header=no negative=skip columns=\"user=2,item=1,event=3\"",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *opts = variants[data[0] % (sizeof variants / sizeof variants[0])];
    aisle_dataset *ds = NULL;
    aisle_config *cfg = NULL;
    if (aisle_dataset_new(&ds) || aisle_config_new(&cfg) || aisle_config_parse(cfg, opts)) abort();
    /* a first event, so "unchanged after failure" is a real check */
    if (aisle_dataset_add_event(ds, "seed-user", "seed-item", "view", 1, 0)) abort();
    size_t users0, items0, events0;
    aisle_dataset_user_count(ds, &users0);
    aisle_dataset_item_count(ds, &items0);
    aisle_dataset_event_count(ds, &events0);
    int rc = aisle_dataset_load_buffer(ds, data + 1, size - 1, "fuzz.csv", cfg);
    size_t users, items, events;
    aisle_dataset_user_count(ds, &users);
    aisle_dataset_item_count(ds, &items);
    aisle_dataset_event_count(ds, &events);
    if (rc != AISLE_OK) {
        if (aisle_last_error()[0] == '\0') abort();
        if (users != users0 || items != items0 || events != events0) abort(); /* partial load */
    } else if (events < events0) {
        abort();
    }
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return 0;
}
