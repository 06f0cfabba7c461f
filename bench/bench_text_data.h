/* bench_text_data.h - what the text benches (bench_text, bench_text_encoder)
 * share: clocks, the shared data folder, and loading a labelled-text file
 * by column names followed by the seeded stratified split, so both read
 * the same texts and the same train/test parts.  Header-only (static
 * functions) because each bench is one program; uses only aisle.h. */
#ifndef BENCH_TEXT_DATA_H
#define BENCH_TEXT_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

/* The split every text bench uses: 80/20, stratified by label, seed 42. */
#define BT_TEST_FRACTION 0.2
#define BT_SPLIT_SEED 42

#define BT_BITEXT_FILE "bitext-cs/Bitext_Sample_Customer_Service_Training_Dataset.csv"
#define BT_BITEXT_COLUMNS "text=utterance,label=intent"
#define BT_ZH_FILE "online-shopping-zh/online_shopping_10_cats.csv.gz"

static inline double bt_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline double bt_wall(void) { return bt_clock(CLOCK_MONOTONIC); }
/* CPU of every thread of this process (OpenBLAS's included). */
static inline double bt_cpu_process(void) { return bt_clock(CLOCK_PROCESS_CPUTIME_ID); }
/* CPU of the calling thread only: what one-thread latency costs, without
 * the time it waited for a core on a shared machine. */
static inline double bt_cpu_thread(void) { return bt_clock(CLOCK_THREAD_CPUTIME_ID); }

/* out = $AISLE_SHARED_DATA/rel, else ../shared/data/rel; 1 when readable. */
static inline int bt_data_path(char *out, size_t outlen, const char *rel) {
    const char *root = getenv("AISLE_SHARED_DATA");
    snprintf(out, outlen, "%s/%s", root && *root ? root : "../shared/data", rel);
    return access(out, R_OK) == 0;
}

/* Loads path with columns="COLUMNS" into *all and splits it into *train and
 * *test (fraction test_fraction, stratified, seeded).  sample > 0 first
 * keeps a stratified, seeded sample of that fraction of the rows (the test
 * part of a split of the whole), for quick runs.  An aisle status; on
 * failure nothing is left allocated. */
static inline int bt_load_split(const char *path, const char *columns, double sample, double test_fraction,
                                uint64_t seed, aisle_texts **all, aisle_texts **train, aisle_texts **test) {
    aisle_config *c = NULL;
    aisle_texts *t = NULL, *rest = NULL, *kept = NULL;
    *all = *train = *test = NULL;
    int rc = aisle_config_new(&c);
    if (!rc) rc = aisle_config_set(c, "columns", columns);
    if (!rc) rc = aisle_texts_new(&t);
    if (!rc) rc = aisle_texts_load(t, path, c);
    if (!rc && sample > 0 && sample < 1) {
        rc = aisle_texts_split(t, sample, seed, &rest, &kept);
        aisle_texts_free(rest);
        if (!rc) {
            aisle_texts_free(t);
            t = kept;
        }
    }
    if (!rc) rc = aisle_texts_split(t, test_fraction, seed, train, test);
    aisle_config_free(c);
    if (rc) {
        aisle_texts_free(t);
        return rc;
    }
    *all = t;
    return AISLE_OK;
}

#endif /* BENCH_TEXT_DATA_H */
