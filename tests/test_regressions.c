/* test_regressions.c - inputs that fuzzing found to misbehave, kept as
 * regression tests (docs/RELIABILITY.md lists them). */
#include <string.h>

#include "util/test_util.h"

/* fuzz_catalog_load, timeout: the 2-byte buffer "\x1f\x8b" (a gzip magic
 * with nothing after it) in lenient mode.  The broken stream was reported
 * as a bad row, skipped, and read again forever.  A stream error must end
 * even a lenient load, with the dataset or catalog unchanged. */
static void test_truncated_gzip_ends_a_lenient_load(void **state) {
    (void)state;
    static const char *const variants[] = {"lenient=true delimiter=tab header=yes", "lenient=true", "lenient=false"};
    static const char *const inputs[] = {"\x1f\x8b", "\x1f\x8b\x08", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"};
    for (size_t v = 0; v < 3; v++) {
        for (size_t i = 0; i < 3; i++) {
            aisle_config *cfg;
            assert_ok(aisle_config_new(&cfg));
            assert_ok(aisle_config_parse(cfg, variants[v]));
            aisle_catalog *cat;
            assert_ok(aisle_catalog_new(&cat));
            assert_status_msg(aisle_catalog_load_buffer(cat, inputs[i], i == 2 ? 10 : strlen(inputs[i]), "t.csv.gz", cfg),
                              AISLE_EFORMAT, "t.csv.gz");
            size_t n;
            assert_ok(aisle_catalog_count(cat, &n));
            assert_int_equal(n, 0);
            aisle_catalog_free(cat);
            aisle_dataset *ds;
            assert_ok(aisle_dataset_new(&ds));
            size_t len = i == 2 ? 10 : strlen(inputs[i]);
            assert_status_msg(aisle_dataset_load_buffer(ds, inputs[i], len, "e.csv.gz", cfg), AISLE_EFORMAT, "gzip");
            assert_ok(aisle_dataset_event_count(ds, &n));
            assert_int_equal(n, 0);
            aisle_dataset_free(ds);
            aisle_config_free(cfg);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_gzip_ends_a_lenient_load),
    };
    return cmocka_run_group_tests_name("regressions", tests, NULL, NULL);
}
