/* test_checkpoint.c - the training checkpoint file of distributed training
 * (src/models/checkpoint.c) as the plain build sees it: a round trip, and
 * the refusals that name what differs -- above all a checkpoint whose
 * fingerprints were hashed another way (written before the switch from
 * byte-wise FNV-1a to core_hash_words), which must say "hash", not "other
 * data", and leave the state as it was.  The distributed kinds' resumes
 * are tested in tests/mpi/test_dist.c. */
#include <stdio.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

enum { N_STATE = 5 };
static const uint32_t g_data[] = {3, 1, 4, 1, 5, 9, 2, 6};

/* This run's fingerprint of its training data. */
static uint64_t data_hash(void) { return model_ckpt_hash(0xcbf29ce484222325ull, g_data, sizeof g_data); }

/* Writes a checkpoint at epoch 2 holding state {10, 11, ...} with the
 * given fields, and returns its image. */
static uint8_t *write_image(const char *path, const model_ckpt_field *fields, size_t n_fields, size_t *len) {
    uint32_t state[N_STATE];
    for (uint32_t k = 0; k < N_STATE; k++) state[k] = 10 + k;
    const model_ckpt_part parts[] = {{"state", state, N_STATE, 4}};
    const model_ckpt ck = {"testkind", fields, n_fields, parts, 1};
    assert_ok(model_ckpt_write(path, NULL, &ck, 2));
    uint8_t *img = NULL;
    assert_ok(io_read_file(path, UINT64_MAX, &img, len));
    return img;
}

/* Reads img against this run's fingerprint (the hash field, a hash of
 * g_data); on refusal expects `needle` in the message and the state
 * untouched. */
static void expect_read(const uint8_t *img, size_t len, int code, const char *needle) {
    uint32_t state[N_STATE];
    memset(state, 0xAB, sizeof state);
    const model_ckpt_field fields[] = {{MODEL_CKPT_HASH_FIELD, MODEL_CKPT_HASH_WORDS},
                                       {"data", data_hash()}};
    const model_ckpt_part parts[] = {{"state", state, N_STATE, 4}};
    const model_ckpt ck = {"testkind", fields, 2, parts, 1};
    uint64_t epoch = 99;
    assert_status_msg(model_ckpt_read(img, len, "t.ckpt", &ck, &epoch), code, needle);
    for (uint32_t k = 0; k < N_STATE; k++) {
        if (code == AISLE_OK) assert_int_equal(state[k], 10 + k);
        else assert_int_equal(state[k], 0xABABABABu);
    }
    assert_int_equal(epoch, code == AISLE_OK ? 2 : 0);
}

static void test_model_ckpt_hash_is_core_hash_words(void **state) {
    (void)state;
    /* every length's tail, and a chained call, against the search hash */
    for (size_t n = 0; n <= sizeof g_data; n++) {
        uint64_t h = model_ckpt_hash(42, g_data, n);
        assert_true(h == core_hash_words(42, g_data, n));
        assert_true(model_ckpt_hash(h, g_data, n) == core_hash_words(h, g_data, n));
    }
}

static void test_checkpoint_round_trip(void **state) {
    (void)state;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "checkpoint_round_trip");
    snprintf(path, sizeof path, "%s/t.ckpt", dir);
    const model_ckpt_field fields[] = {{MODEL_CKPT_HASH_FIELD, MODEL_CKPT_HASH_WORDS},
                                       {"data", data_hash()}};
    size_t len = 0;
    uint8_t *img = write_image(path, fields, 2, &len);
    expect_read(img, len, AISLE_OK, NULL);
    core_free(img);
}

static void test_checkpoint_of_the_old_hash_is_refused_naming_it(void **state) {
    (void)state;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "checkpoint_old_hash");
    snprintf(path, sizeof path, "%s/t.ckpt", dir);
    size_t len = 0;
    /* as an earlier build wrote it: no hash field, its data field FNV-1a
     * a byte at a time from the FNV basis (core_hash_bytes) */
    const model_ckpt_field old[] = {{"data", core_hash_bytes(g_data, sizeof g_data)}};
    uint8_t *img = write_image(path, old, 1, &len);
    expect_read(img, len, AISLE_EFORMAT, "another hash algorithm (field 'hash' absent");
    core_free(img);
    /* a hash field of another value (a later algorithm, say) */
    const model_ckpt_field other[] = {{MODEL_CKPT_HASH_FIELD, MODEL_CKPT_HASH_WORDS + 1},
                                      {"data", data_hash()}};
    img = write_image(path, other, 2, &len);
    expect_read(img, len, AISLE_EFORMAT, "another hash algorithm (field 'hash' differs");
    core_free(img);
    /* the same hash, other data: that is what the message says */
    const model_ckpt_field data[] = {{MODEL_CKPT_HASH_FIELD, MODEL_CKPT_HASH_WORDS},
                                     {"data", data_hash() + 1}};
    img = write_image(path, data, 2, &len);
    expect_read(img, len, AISLE_EFORMAT, "other data or options (field 'data' differs)");
    core_free(img);
    /* the same hash, a data field missing */
    img = write_image(path, data, 1, &len);
    expect_read(img, len, AISLE_EFORMAT, "other data or options (no field 'data')");
    core_free(img);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_ckpt_hash_is_core_hash_words),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_of_the_old_hash_is_refused_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
