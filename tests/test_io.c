/* test_io.c - the model file: fp16 conversion, tensor encodings, save/load
 * round trips (buffer and file), atomic save, version rules, exhaustive
 * corruption, crafted huge sizes and allocation failures. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "models/models.h"
#include "util/server_util.h"
#include "util/test_util.h"

/* ---- helpers ---- */

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Header length of a saved image (fixed part, table, CRC). */
static size_t header_len(const uint8_t *img) { return IO_HEADER_FIXED + rd32(img + 16) * IO_ENTRY_SIZE + 4; }

/* Recomputes the header CRC after a test patched the header. */
static void fix_header_crc(uint8_t *img) {
    size_t hl = header_len(img);
    wr32(img + hl - 4, io_crc32(img, hl - 4));
}

/* Recomputes the CRCs of every uncompressed section and the header. */
static void fix_all_crcs(uint8_t *img) {
    size_t n = rd32(img + 16), off = header_len(img);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = img + IO_HEADER_FIXED + i * IO_ENTRY_SIZE;
        size_t stored = (size_t)rd32(e + 16);
        assert_false(rd32(e + 4) & IO_FLAG_COMPRESSED);
        uint32_t c = io_crc32(img + off, stored);
        wr32(e + 24, c);
        wr32(e + 28, c);
        off += stored;
    }
    fix_header_crc(img);
}

/* A small deterministic shop: 40 users, 25 items, timed events. */
static aisle_dataset *small_dataset(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    core_rng r;
    rng_seed(&r, 7);
    static const char *ev[] = {"view", "cart", "purchase"};
    for (int k = 0; k < 300; k++) {
        char u[16], i[16];
        snprintf(u, sizeof u, "u%d", (int)rng_below(&r, 40));
        /* skewed item popularity so scores differ */
        uint64_t it = rng_below(&r, 25);
        it = it * rng_below(&r, 25) / 25;
        snprintf(i, sizeof i, "item-%d", (int)it);
        assert_ok(aisle_dataset_add_event(ds, u, i, ev[rng_below(&r, 3)], 1.0, 1700000000 + (int64_t)k * 3600));
    }
    return ds;
}

static aisle_model *train_popular(const char *opts) {
    aisle_dataset *ds = small_dataset();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_ok(aisle_model_set_metric(m, "ndcg@10", 0.123456789));
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return m;
}

static aisle_config *save_cfg(int compression, const char *quant) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_int(cfg, "compression", compression));
    assert_ok(aisle_config_set_string(cfg, "quantize", quant));
    return cfg;
}

static void save_buf(const aisle_model *m, int compression, uint8_t **img, size_t *len) {
    aisle_config *cfg = save_cfg(compression, "none");
    void *out;
    assert_ok(aisle_model_save_buffer(m, cfg, &out, len));
    *img = out;
    aisle_config_free(cfg);
}

/* Same keys, history, popularity, describe text and scores of every user. */
static void assert_same_model(const aisle_model *a, const aisle_model *b) {
    assert_int_equal(a->users.n, b->users.n);
    assert_int_equal(a->items.n, b->items.n);
    for (uint32_t i = 0; i < a->users.n; i++) assert_string_equal(keys_at(&a->users, i), keys_at(&b->users, i));
    for (uint32_t i = 0; i < a->items.n; i++) {
        assert_string_equal(keys_at(&a->items, i), keys_at(&b->items, i));
        size_t idx;
        assert_ok(aisle_model_item_index(b, keys_at(&a->items, i), &idx));
        assert_int_equal(idx, i);
    }
    tu_assert_same_history(a, b);
    assert_memory_equal(a->popularity, b->popularity, a->items.n * 4);
    char da[4096], db[4096];
    assert_ok(aisle_model_describe(a, da, sizeof da, NULL));
    assert_ok(aisle_model_describe(b, db, sizeof db, NULL));
    assert_string_equal(da, db);
    float *sa = calloc(a->items.n, 4), *sb = calloc(a->items.n, 4);
    for (uint32_t u = 0; u < a->users.n; u++) {
        model_query q;
        model_user_query(a, u, &q);
        assert_ok(a->ops->score_items(a, &q, sa));
        model_user_query(b, u, &q);
        assert_ok(b->ops->score_items(b, &q, sb));
        assert_memory_equal(sa, sb, a->items.n * 4);
    }
    free(sa);
    free(sb);
}

/* ---- fp16 ---- */

static void test_f16_rounds_to_nearest_even(void **state) {
    (void)state;
    assert_int_equal(io_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(io_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(io_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(io_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(io_f32_to_f16(65519.0f), 0x7bff); /* below the halfway point to 65536 */
    assert_int_equal(io_f32_to_f16(65520.0f), 0x7c00); /* tie rounds to even: infinity */
    assert_int_equal(io_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);        /* tie -> even (down) */
    assert_int_equal(io_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);    /* tie -> even (up) */
    assert_int_equal(io_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01); /* above tie */
    assert_int_equal(io_f32_to_f16(0x1p-24f), 0x0001);               /* smallest subnormal */
    assert_int_equal(io_f32_to_f16(0x1p-25f), 0x0000);               /* tie -> even zero */
    assert_int_equal(io_f32_to_f16(0x1.8p-25f), 0x0001);
    assert_int_equal(io_f32_to_f16(3 * 0x1p-25f), 0x0002);            /* 1.5 ulp: tie -> even 2 */
    assert_int_equal(io_f32_to_f16(0x1.ffcp-15f), 0x0400);           /* subnormal rounding carries to normal */
    assert_int_equal(io_f32_to_f16(INFINITY), 0x7c00);
    assert_true(isnan(io_f16_to_f32(io_f32_to_f16(NAN))));
    /* every half converts to float and back unchanged (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = io_f16_to_f32((uint16_t)h);
        if (isnan(f)) {
            assert_true((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
            continue;
        }
        assert_int_equal(io_f32_to_f16(f), h);
    }
}

/* ---- tensors ---- */

static float *random_matrix(uint64_t rows, uint64_t cols, uint64_t seed) {
    core_rng r;
    rng_seed(&r, seed);
    float *x = malloc(rows * cols * sizeof *x);
    for (uint64_t i = 0; i < rows; i++) {
        double mag = pow(10.0, (double)i / 8.0 - 2.0); /* rows of very different magnitudes, within fp16's range */
        for (uint64_t j = 0; j < cols; j++) {
            float v = (float)(mag * (0.5 + rng_double(&r)));
            x[i * cols + j] = rng_below(&r, 2) ? v : -v;
        }
    }
    return x;
}

/* Decodes and checks the error bound of each encoding. */
static void check_tensor(const float *x, const float *y, uint64_t rows, uint64_t cols, int quant) {
    for (uint64_t i = 0; i < rows; i++) {
        float mx = 0;
        for (uint64_t j = 0; j < cols; j++) mx = fmaxf(mx, fabsf(x[i * cols + j]));
        float scale = mx / 127.0f;
        for (uint64_t j = 0; j < cols; j++) {
            float a = x[i * cols + j], b = y[i * cols + j];
            if (quant == IO_QUANT_NONE) assert_memory_equal(&a, &b, 4);
            else if (quant == IO_QUANT_FP16) {
                if (fabsf(b - a) > 1e-3f * fabsf(a)) fail_msg("fp16 [%d][%d]: %g -> %g", (int)i, (int)j, a, b);
            } else if (fabsf(b - a) > scale * 0.5f * (1 + 1e-5f)) {
                fail_msg("int8 [%d][%d]: %g -> %g, scale %g", (int)i, (int)j, a, b, scale);
            }
        }
    }
}

static void test_tensor_round_trip_per_encoding(void **state) {
    (void)state;
    const uint64_t rows = 37, cols = 19;
    float *x = random_matrix(rows, cols, 3);
    for (int quant = IO_QUANT_NONE; quant <= IO_QUANT_INT8; quant++) {
        core_buf b;
        buf_init(&b);
        assert_ok(io_put_tensor(&b, x, rows, cols, quant));
        size_t expect = 17 + rows * cols * (quant == IO_QUANT_NONE ? 4 : quant == IO_QUANT_FP16 ? 2 : 1) +
                        (quant == IO_QUANT_INT8 ? rows * 4 : 0);
        assert_int_equal(b.len, expect);
        io_cursor c = {(const uint8_t *)b.data, b.len, 0, "test"};
        float *y;
        uint64_t r, k;
        assert_ok(io_get_tensor(&c, &y, &r, &k, rows, cols));
        assert_ok(io_cursor_done(&c));
        assert_int_equal(r, rows);
        assert_int_equal(k, cols);
        check_tensor(x, y, rows, cols, quant);
        free(y); /* test allocator is the default malloc */
        /* wrong expected shape and every truncation are format errors */
        c.pos = 0;
        assert_status_msg(io_get_tensor(&c, &y, &r, &k, rows + 1, cols), AISLE_EFORMAT, "expected 38 x 19");
        for (size_t cut = 0; cut < b.len; cut += 7) {
            io_cursor t = {(const uint8_t *)b.data, cut, 0, "cut"};
            assert_status_msg(io_get_tensor(&t, &y, &r, &k, 0, 0), AISLE_EFORMAT, "cut");
        }
        buf_free(&b);
    }
    /* int8 needs finite values */
    core_buf b;
    buf_init(&b);
    x[5] = NAN;
    assert_status_msg(io_put_tensor(&b, x, rows, cols, IO_QUANT_INT8), AISLE_EINVAL, "not finite");
    buf_free(&b);
    free(x);
}

/* The save options choose the encoding of a kind's tensors: through a real
 * writer, in a buffer and in a file, compressed or not. */
static void test_tensor_encodings_through_file_and_buffer(void **state) {
    (void)state;
    const uint64_t rows = 50, cols = 16;
    float *x = random_matrix(rows, cols, 11);
    static const char *names[] = {"none", "fp16", "int8"};
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "io_tensor");
    snprintf(path, sizeof path, "%s/t.bin", dir);
    for (int quant = 0; quant < 3; quant++) {
        for (int level = 0; level <= 6; level += 6) {
            aisle_config *cfg = save_cfg(level, names[quant]);
            io_writer *w;
            assert_ok(io_writer_new(&w, "popular", cfg));
            assert_int_equal(io_writer_quant(w), quant);
            core_buf b;
            buf_init(&b);
            assert_ok(io_put_tensor(&b, x, rows, cols, io_writer_quant(w)));
            assert_ok(io_writer_add_section(w, IO_SECTION_KIND + 7, IO_FLAG_REQUIRED, &b));
            buf_free(&b);
            for (int to_file = 0; to_file < 2; to_file++) {
                uint8_t *img;
                size_t len;
                if (to_file) {
                    assert_ok(io_writer_to_file(w, path, UINT64_MAX));
                    assert_ok(io_read_file(path, 1 << 20, &img, &len));
                } else {
                    void *v;
                    assert_ok(io_writer_to_buffer(w, &v, &len));
                    img = v;
                }
                io_reader *r;
                assert_ok(io_reader_open(&r, img, len, 1 << 20));
                io_cursor c;
                assert_ok(io_reader_section(r, IO_SECTION_KIND + 7, &c));
                float *y;
                uint64_t gr, gk;
                assert_ok(io_get_tensor(&c, &y, &gr, &gk, rows, cols));
                check_tensor(x, y, rows, cols, quant);
                free(y);
                assert_ok(io_reader_check_required(r));
                io_reader_free(r);
                free(img);
            }
            io_writer_free(w);
            aisle_config_free(cfg);
        }
    }
    free(x);
}

/* ---- model round trips ---- */

static void test_popular_round_trip_buffer_and_file(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular half_life=30 popular_by=weight");
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "io_roundtrip");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    for (int level = 0; level <= 9; level += 3) {
        aisle_config *cfg = save_cfg(level, level == 9 ? "int8" : "none");
        void *img;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, cfg, &img, &len));
        aisle_model *b;
        assert_ok(aisle_model_load_buffer(&b, img, len, NULL));
        assert_same_model(m, b);
        double v;
        assert_ok(aisle_model_get_metric(b, "ndcg@10", &v));
        assert_true(v == 0.123456789);
        assert_string_equal(b->writer_version, AISLE_VERSION_STRING);
        /* the stored options come back as options */
        assert_true(config_float(b->config, NULL, "half_life") == 30.0);
        assert_string_equal(config_string(b->config, NULL, "popular_by"), "weight");
        aisle_model_free(b);

        assert_ok(aisle_model_save(m, path, cfg));
        assert_ok(aisle_model_load(&b, path, NULL));
        assert_same_model(m, b);
        /* a loaded model saves to the same bytes */
        void *img2;
        size_t len2;
        assert_ok(aisle_model_save_buffer(b, cfg, &img2, &len2));
        assert_int_equal(len, len2);
        assert_memory_equal(img, img2, len);
        aisle_free(img2);
        aisle_model_free(b);
        aisle_free(img);
        aisle_config_free(cfg);
    }
    assert_status_msg(aisle_model_load(NULL, path, NULL), AISLE_EINVAL, "aisle_model_load");
    assert_status_msg(aisle_model_save(m, NULL, NULL), AISLE_EINVAL, "aisle_model_save");
    snprintf(path, sizeof path, "%s/missing/m.aisle", dir);
    aisle_model *b = NULL;
    assert_status_msg(aisle_model_load(&b, path, NULL), AISLE_EIO, "missing/m.aisle");
    assert_status_msg(aisle_model_save(m, path, NULL), AISLE_EIO, "missing/m.aisle");
    assert_null(b);
    aisle_model_free(m);
}

static void test_save_of_kind_without_hooks_is_unsupported(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    model_ops no_save = *m->ops;
    const model_ops *real = m->ops;
    no_save.save = NULL;
    m->ops = &no_save;
    void *img = NULL;
    size_t len;
    assert_status_msg(aisle_model_save_buffer(m, NULL, &img, &len), AISLE_EUNSUPPORTED, "'popular'");
    assert_null(img);
    m->ops = real;
    aisle_model_free(m);
}

/* ---- atomic save ---- */

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_failed_save_leaves_old_file_intact(void **state) {
    (void)state;
    aisle_model *old = train_popular("model=popular");
    aisle_model *neu = train_popular("model=popular popular_by=weight");
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "io_atomic");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    assert_ok(aisle_model_save(old, path, NULL));
    uint8_t *before;
    size_t before_len;
    assert_ok(io_read_file(path, 1 << 24, &before, &before_len));
    const uint64_t cuts[] = {0, 1, 50, before_len / 2, before_len - 1};
    for (size_t i = 0; i < CORE_ARRAY_LEN(cuts); i++) {
        assert_status_msg(model_save_file(neu, path, NULL, cuts[i]), AISLE_EIO, "simulated");
        uint8_t *now;
        size_t now_len;
        assert_ok(io_read_file(path, 1 << 24, &now, &now_len));
        assert_int_equal(now_len, before_len);
        assert_memory_equal(now, before, before_len);
        free(now);
        assert_int_equal(count_files(dir), 1); /* no temporary left behind */
        aisle_model *b;
        assert_ok(aisle_model_load(&b, path, NULL));
        assert_same_model(old, b);
        aisle_model_free(b);
    }
    /* a save that succeeds replaces the file */
    assert_ok(model_save_file(neu, path, NULL, UINT64_MAX));
    aisle_model *b;
    assert_ok(aisle_model_load(&b, path, NULL));
    assert_same_model(neu, b);
    aisle_model_free(b);
    assert_int_equal(count_files(dir), 1);
    free(before);
    aisle_model_free(old);
    aisle_model_free(neu);
}

/* ---- versions and sections ---- */

static void test_newer_major_refused_newer_minor_loads(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    uint8_t *img;
    size_t len;
    save_buf(m, 6, &img, &len);
    aisle_model *b = NULL;
    img[8] = 2, img[10] = 0; /* 2.0 (this writer writes 1.1) */
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_EVERSION,
                      "model file format 2.0 is newer than this library's 1.x (aisle " AISLE_VERSION_STRING ")");
    img[8] = 1;
    img[10] = 7; /* minor 1.7: loads (after fixing the header CRC) */
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_EFORMAT, "header: CRC mismatch");
    fix_header_crc(img);
    assert_ok(aisle_model_load_buffer(&b, img, len, NULL));
    assert_same_model(m, b);
    aisle_model_free(b);
    aisle_free(img);
    aisle_model_free(m);
}

static void save_with_extra(const aisle_model *m, uint32_t type, uint32_t flags, void **img, size_t *len) {
    io_writer *w;
    assert_ok(model_writer(m, NULL, &w));
    core_buf b;
    buf_init(&b);
    assert_ok(io_put_str(&b, "a section from the future"));
    assert_ok(io_writer_add_section(w, type, flags, &b));
    buf_free(&b);
    assert_ok(io_writer_to_buffer(w, img, len));
    io_writer_free(w);
}

static void test_unknown_optional_section_skipped_required_refused(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    void *img;
    size_t len;
    aisle_model *b = NULL;
    save_with_extra(m, 999, 0, &img, &len);
    assert_ok(aisle_model_load_buffer(&b, img, len, NULL));
    assert_same_model(m, b);
    aisle_model_free(b);
    aisle_free(img);
    b = NULL;
    save_with_extra(m, 999, IO_FLAG_REQUIRED, &img, &len);
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_EVERSION, "section 999 is marked required");
    aisle_free(img);
    /* an unknown generic type (below the kinds' range) too */
    save_with_extra(m, 77, IO_FLAG_REQUIRED, &img, &len);
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_EVERSION, "section 77");
    aisle_free(img);
    assert_null(b);
    aisle_model_free(m);
}

static void test_unknown_kind_and_writer_version(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    uint8_t *img;
    size_t len;
    save_buf(m, 0, &img, &len);
    aisle_model *b = NULL;
    /* a file of another writer version: header and META say 0.0.9 */
    uint8_t *copy = malloc(len);
    memcpy(copy, img, len);
    assert_int_equal(strlen(AISLE_VERSION_STRING), 5);
    memcpy(copy + 56, "0.0.9", 5);
    uint8_t *meta = copy + header_len(copy);
    assert_memory_equal(meta + 4 + 7 + 4, AISLE_VERSION_STRING, 5); /* str "popular", str version */
    memcpy(meta + 4 + 7 + 4, "0.0.9", 5);
    fix_all_crcs(copy);
    assert_ok(aisle_model_load_buffer(&b, copy, len, NULL));
    char d[4096];
    assert_ok(aisle_model_describe(b, d, sizeof d, NULL));
    assert_non_null(strstr(d, "writer_version: 0.0.9"));
    aisle_model_free(b);
    b = NULL;
    /* an unknown kind */
    memcpy(img + 24, "sasrec9", 7);
    fix_header_crc(img);
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_ENOTFOUND, "'sasrec9' is unknown");
    assert_null(b);
    free(copy);
    aisle_free(img);
    aisle_model_free(m);
}

/* ---- corruption ---- */

static int load_status(const uint8_t *img, size_t len) {
    aisle_model *b = NULL;
    int rc = aisle_model_load_buffer(&b, img, len, NULL);
    if (rc == AISLE_OK) aisle_model_free(b);
    else if (b) fail_msg("out set on failure");
    return rc;
}

static void test_every_byte_change_and_truncation_detected(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    for (int level = 0; level <= 6; level += 6) {
        uint8_t *img;
        size_t len;
        save_buf(m, level, &img, &len);
        assert_int_equal(load_status(img, len), AISLE_OK);
        print_message("popular model file, compression=%d: %zu bytes, each byte changed twice, every truncation\n",
                      level, len);
        uint8_t *t = malloc(len);
        for (size_t i = 0; i < len; i++) {
            for (int how = 0; how < 2; how++) {
                memcpy(t, img, len);
                t[i] = how ? (uint8_t)(t[i] + 1) : (uint8_t)(t[i] ^ 0xff);
                int rc = load_status(t, len);
                /* bytes 8-9 hold the major version: a change makes it newer */
                int want = (i == 8 || i == 9) ? AISLE_EVERSION : AISLE_EFORMAT;
                if (rc != want)
                    fail_msg("level %d: byte %zu %s: status %d, expected %d (%s)", level, i, how ? "+1" : "^0xff", rc,
                             want, aisle_last_error());
                const char *msg = aisle_last_error();
                if (want == AISLE_EFORMAT && !strstr(msg, "header") && !strstr(msg, "section") && !strstr(msg, "file"))
                    fail_msg("byte %zu: message names no part: %s", i, msg);
            }
        }
        for (size_t cut = 0; cut < len; cut++) {
            int rc = load_status(img, cut);
            if (rc != AISLE_EFORMAT) fail_msg("truncated to %zu of %zu: status %d (%s)", cut, len, rc, aisle_last_error());
        }
        /* random multi-byte corruption */
        core_rng r;
        rng_seed(&r, 99 + (uint64_t)level);
        for (int trial = 0; trial < 2000; trial++) {
            memcpy(t, img, len);
            int nb = 2 + (int)rng_below(&r, 7);
            for (int k = 0; k < nb; k++) t[rng_below(&r, len)] ^= (uint8_t)(1 + rng_below(&r, 255));
            if (memcmp(t, img, len) == 0) continue;
            int rc = load_status(t, len);
            if (rc != AISLE_EFORMAT && rc != AISLE_EVERSION)
                fail_msg("random trial %d: status %d (%s)", trial, rc, aisle_last_error());
        }
        free(t);
        aisle_free(img);
    }
    aisle_model_free(m);
}

/* ---- crafted sizes ---- */

/* An allocator that records the largest single request. */
static size_t max_request;
static void *big_malloc(void *ctx, size_t n) { (void)ctx; if (n > max_request) max_request = n; return malloc(n); }
static void *big_realloc(void *ctx, void *p, size_t n) { (void)ctx; if (n > max_request) max_request = n; return realloc(p, n); }
static void big_free(void *ctx, void *p) { (void)ctx; free(p); }

/* A valid popular model file built field by field; `bad` selects one
 * field to replace by a huge value (the CRCs stay valid, so only the
 * structure checks can catch it). */
enum { OK_FILE, HUGE_USERS, HUGE_INDPTR, HUGE_POP, HUGE_TENSOR, HUGE_STRING, HUGE_NNZ, HUGE_METRICS, TWICE_METRIC };

static void add_sec(io_writer *w, uint32_t type, core_buf *b) {
    assert_ok(io_writer_add_section(w, type, IO_FLAG_REQUIRED, b));
    buf_free(b);
}

static void craft(int bad, const char *options, void **img, size_t *len) {
    aisle_config *cfg = save_cfg(6, "none");
    io_writer *w;
    assert_ok(io_writer_new(&w, "popular", cfg));
    core_buf b;
    buf_init(&b);
    assert_ok(io_put_str(&b, "popular"));
    assert_ok(io_put_str(&b, AISLE_VERSION_STRING));
    if (bad == HUGE_STRING) assert_ok(io_put_u32(&b, 0xffffffffu));
    else assert_ok(io_put_str(&b, options));
    if (bad == HUGE_METRICS) {
        assert_ok(io_put_u32(&b, 0xffffffffu));
    } else if (bad == TWICE_METRIC) {
        assert_ok(io_put_u32(&b, 2));
        for (int i = 0; i < 2; i++) {
            assert_ok(io_put_str(&b, "hr@10"));
            assert_ok(io_put_f64(&b, 0.5));
        }
    } else {
        assert_ok(io_put_u32(&b, 0));
    }
    add_sec(w, IO_SECTION_META, &b);
    assert_ok(io_put_u64(&b, bad == HUGE_USERS ? (uint64_t)1 << 62 : 2));
    assert_ok(io_put_str(&b, "alice"));
    assert_ok(io_put_str(&b, "bob"));
    add_sec(w, IO_SECTION_USERS, &b);
    assert_ok(io_put_u64(&b, 2));
    assert_ok(io_put_str(&b, "x"));
    assert_ok(io_put_str(&b, "y"));
    add_sec(w, IO_SECTION_ITEMS, &b);
    assert_ok(io_put_u32(&b, 2));
    assert_ok(io_put_u32(&b, 2));
    uint64_t indptr[3] = {0, 1, bad == HUGE_NNZ ? (uint64_t)1 << 50 : 3};
    assert_ok(io_put_u64(&b, bad == HUGE_INDPTR ? (uint64_t)1 << 61 : 3));
    for (int i = 0; i < 3; i++) assert_ok(io_put_u64(&b, indptr[i]));
    uint32_t idx[3] = {1, 0, 1}, cnt[3] = {1, 2, 1};
    float val[3] = {1, 5, 3};
    assert_ok(io_put_u32_array(&b, idx, 3));
    assert_ok(io_put_f32_array(&b, val, 3));
    assert_ok(io_put_u64(&b, 3));
    for (int i = 0; i < 3; i++) assert_ok(io_put_i64(&b, 1700000000 + i));
    assert_ok(io_put_u32_array(&b, cnt, 3));
    add_sec(w, IO_SECTION_HISTORY, &b);
    float pop[2] = {2, 1};
    if (bad == HUGE_POP) assert_ok(io_put_u64(&b, (uint64_t)1 << 40));
    else assert_ok(io_put_u64(&b, 2));
    for (int i = 0; i < 2; i++) assert_ok(io_put_f32(&b, pop[i]));
    add_sec(w, IO_SECTION_POPULARITY, &b);
    if (bad == HUGE_TENSOR) {
        assert_ok(io_put_u8(&b, 0));
        assert_ok(io_put_u64(&b, 1));
        assert_ok(io_put_u64(&b, (uint64_t)1 << 62));
    } else {
        assert_ok(io_put_tensor(&b, pop, 1, 2, IO_QUANT_NONE));
    }
    add_sec(w, IO_SECTION_KIND, &b);
    assert_ok(io_writer_to_buffer(w, img, len));
    io_writer_free(w);
    aisle_config_free(cfg);
}

static void test_crafted_huge_sizes_fail_before_allocating(void **state) {
    (void)state;
    void *img;
    size_t len;
    aisle_model *b = NULL;
    /* the honest crafted file loads; an option from a newer release is skipped */
    craft(OK_FILE, "model=popular popular_by=weight option_from_the_future=3", &img, &len);
    assert_ok(aisle_model_load_buffer(&b, img, len, NULL));
    assert_string_equal(config_string(b->config, NULL, "popular_by"), "weight");
    size_t n;
    assert_ok(aisle_model_user_count(b, &n));
    assert_int_equal(n, 2);
    aisle_model_free(b);
    b = NULL;
    aisle_free(img);
    /* a bad value of a known option is corruption */
    craft(OK_FILE, "model=popular popular_by=nonsense", &img, &len);
    assert_status_msg(aisle_model_load_buffer(&b, img, len, NULL), AISLE_EFORMAT, "popular_by");
    aisle_free(img);

    static const struct { int bad; const char *msg; } cases[] = {
        {HUGE_USERS, "section 2 (users): declares 4611686018427387904 keys"},
        {HUGE_INDPTR, "section 4 (history): u64 array"},
        {HUGE_NNZ, "section 4 (history): indptr[2]"},
        {HUGE_POP, "section 5 (popularity): f32 array"},
        {HUGE_TENSOR, "section 256 (model kind): tensor"},
        {HUGE_STRING, "section 1 (meta): string"},
        {HUGE_METRICS, "section 1 (meta): 4294967295 metrics, more than the limit"},
        {TWICE_METRIC, "section 1 (meta): metric 'hr@10' appears twice"},
    };
    for (size_t i = 0; i < CORE_ARRAY_LEN(cases); i++) {
        craft(cases[i].bad, "model=popular", &img, &len);
        max_request = 0;
        assert_ok(aisle_set_allocator(big_malloc, big_realloc, big_free, NULL));
        int rc = aisle_model_load_buffer(&b, img, len, NULL);
        size_t biggest = max_request;
        aisle_set_allocator(NULL, NULL, NULL, NULL);
        if (rc != AISLE_EFORMAT || !strstr(aisle_last_error(), cases[i].msg))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, rc, aisle_last_error(), cases[i].msg);
        if (biggest > 1u << 20) fail_msg("case %zu allocated %zu bytes at once", i, biggest);
        assert_null(b);
        free(img);
    }

    /* a section table claiming a huge decompressed length: patched with a
     * valid header CRC, refused before the section is inflated */
    craft(OK_FILE, "model=popular", &img, &len);
    uint8_t *p = img;
    uint8_t *e = p + IO_HEADER_FIXED + 1 * IO_ENTRY_SIZE; /* USERS, compressed or not */
    wr64(e + 8, (uint64_t)1 << 39);
    wr32(e + 4, IO_FLAG_REQUIRED | IO_FLAG_COMPRESSED);
    fix_header_crc(p);
    max_request = 0;
    assert_ok(aisle_set_allocator(big_malloc, big_realloc, big_free, NULL));
    int rc = aisle_model_load_buffer(&b, img, len, NULL);
    aisle_set_allocator(NULL, NULL, NULL, NULL);
    assert_int_equal(rc, AISLE_EFORMAT);
    assert_non_null(strstr(aisle_last_error(), "more than the 64:1 expansion"));
    assert_true(max_request < 1u << 20);
    /* ... and under the ratio bound but above max_model_bytes */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_int(cfg, "max_model_bytes", 4096));
    wr64(e + 8, 5000);
    fix_header_crc(p);
    assert_status_msg(aisle_model_load_buffer(&b, img, len, cfg), AISLE_ERANGE, "max_model_bytes=4096");
    aisle_config_free(cfg);
    assert_null(b);
    free(img);
}

/* ---- allocation failures ---- */

static void test_allocation_failures_in_save_and_load(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular half_life=7");
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "io_oom");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    aisle_config *cfg = save_cfg(6, "none");
    void *img = NULL;
    size_t len = 0;
    int done = 0;
    for (uint64_t n = 1; n < 100000 && !done; n++) {
        tu_failalloc_install(n, 0);
        int rc = aisle_model_save_buffer(m, cfg, &img, &len);
        if (!rc) {
            rc = aisle_model_save(m, path, cfg);
            if (rc) {
                aisle_free(img);
                img = NULL;
            }
        }
        if (rc) assert_int_equal(rc, AISLE_ENOMEM);
        int64_t live = tu_failalloc_live();
        if (!rc) {
            done = 1;
            live -= 1; /* the image */
        }
        tu_failalloc_remove();
        if (live != 0) fail_msg("save, failing allocation %llu: %lld blocks leaked", (unsigned long long)n, (long long)live);
        assert_int_equal(count_files(dir), done ? 1 : 0);
        if (!done) unlink(path);
    }
    assert_true(done);
    done = 0;
    uint64_t tries = 0;
    for (uint64_t n = 1; n < 100000 && !done; n++, tries++) {
        tu_failalloc_install(n, 0);
        aisle_model *b = NULL;
        int rc = aisle_model_load_buffer(&b, img, len, NULL);
        if (!rc) {
            aisle_model_free(b);
            b = NULL;
            rc = aisle_model_load(&b, path, NULL);
        }
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
            assert_null(b);
        }
        if (!rc) done = 1;
        aisle_model_free(b);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (live != 0) fail_msg("load, failing allocation %llu: %lld blocks leaked", (unsigned long long)n, (long long)live);
    }
    assert_true(done);
    assert_true(tries > 10);
    free(img);
    aisle_config_free(cfg);
    aisle_model_free(m);
}

/* ---- measured sizes and ranking effect (figures in docs/FORMAT.md) ---- */

/* Mean overlap of each user's top-10 items under U V^T between the exact
 * and the decoded factors. */
static double top10_overlap(const float *u, const float *v, const float *u2, const float *v2, int nu, int ni,
                            int k) {
    double total = 0;
    float *s = malloc((size_t)ni * 4), *s2 = malloc((size_t)ni * 4);
    int top[10], top2[10];
    for (int a = 0; a < nu; a++) {
        for (int i = 0; i < ni; i++) {
            float x = 0, y = 0;
            for (int f = 0; f < k; f++) {
                x += u[a * k + f] * v[i * k + f];
                y += u2[a * k + f] * v2[i * k + f];
            }
            s[i] = x;
            s2[i] = y;
        }
        for (int t = 0; t < 10; t++) { /* selection of the 10 best, ties by index */
            int b = -1, b2 = -1;
            for (int i = 0; i < ni; i++) {
                int used = 0, used2 = 0;
                for (int q = 0; q < t; q++) used |= top[q] == i, used2 |= top2[q] == i;
                if (!used && (b < 0 || s[i] > s[b])) b = i;
                if (!used2 && (b2 < 0 || s2[i] > s2[b2])) b2 = i;
            }
            top[t] = b;
            top2[t] = b2;
        }
        int hit = 0;
        for (int t = 0; t < 10; t++)
            for (int q = 0; q < 10; q++) hit += top[t] == top2[q];
        total += hit / 10.0;
    }
    free(s);
    free(s2);
    return total / nu;
}

static void test_measured_sizes_and_ranking_effect_of_encodings(void **state) {
    (void)state;
    /* a synthetic factor model: users and items of rank-8 structure plus
     * noise, 64 factors, values like a trained ALS model's */
    enum { NU = 3000, NI = 2000, K = 64, EVAL_USERS = 300 };
    core_rng r;
    rng_seed(&r, 5);
    float *u = malloc((size_t)NU * K * 4), *v = malloc((size_t)NI * K * 4);
    for (size_t i = 0; i < (size_t)NU * K; i++) u[i] = 0.1f * rng_normal(&r) * (i % K < 8 ? 4.0f : 1.0f);
    for (size_t i = 0; i < (size_t)NI * K; i++) v[i] = 0.1f * rng_normal(&r) * (i % K < 8 ? 4.0f : 1.0f);
    static const char *names[] = {"none", "fp16", "int8"};
    size_t size[3][2];
    double overlap[3];
    for (int quant = 0; quant < 3; quant++) {
        for (int li = 0; li < 2; li++) {
            aisle_config *cfg = save_cfg(li ? 6 : 0, names[quant]);
            io_writer *w;
            assert_ok(io_writer_new(&w, "popular", cfg));
            core_buf b;
            buf_init(&b);
            assert_ok(io_put_tensor(&b, u, NU, K, io_writer_quant(w)));
            assert_ok(io_writer_add_section(w, IO_SECTION_KIND, IO_FLAG_REQUIRED, &b));
            b.len = 0;
            assert_ok(io_put_tensor(&b, v, NI, K, io_writer_quant(w)));
            assert_ok(io_writer_add_section(w, IO_SECTION_KIND + 1, IO_FLAG_REQUIRED, &b));
            buf_free(&b);
            void *img;
            assert_ok(io_writer_to_buffer(w, &img, &size[quant][li]));
            if (li == 1) {
                io_reader *rd;
                assert_ok(io_reader_open(&rd, img, size[quant][li], (uint64_t)1 << 30));
                io_cursor c;
                float *u2, *v2;
                uint64_t rows, cols;
                assert_ok(io_reader_section(rd, IO_SECTION_KIND, &c));
                assert_ok(io_get_tensor(&c, &u2, &rows, &cols, NU, K));
                assert_ok(io_reader_section(rd, IO_SECTION_KIND + 1, &c));
                assert_ok(io_get_tensor(&c, &v2, &rows, &cols, NI, K));
                overlap[quant] = top10_overlap(u, v, u2, v2, EVAL_USERS, NI, K);
                free(u2);
                free(v2);
                io_reader_free(rd);
            }
            free(img);
            io_writer_free(w);
            aisle_config_free(cfg);
        }
    }
    print_message("factor tensors %d x %d + %d x %d (fp32 payload %d bytes); top-10 overlap over %d users\n", NU, K,
                  NI, K, (NU + NI) * K * 4, EVAL_USERS);
    for (int q = 0; q < 3; q++)
        print_message("  quantize=%-4s  compression=0: %8zu bytes  compression=6: %8zu bytes  top-10 overlap %.4f\n",
                      names[q], size[q][0], size[q][1], overlap[q]);
    assert_true(overlap[0] == 1.0);
    assert_true(size[1][0] < size[0][0] * 0.51 && size[2][0] < size[1][0] * 0.55);
    for (int q = 0; q < 3; q++) assert_true(size[q][1] <= size[q][0]);
    assert_true(overlap[1] >= 0.97);
    assert_true(overlap[2] >= 0.85);
    free(u);
    free(v);
}

/* NDCG@10 and file size of an ALS model on the demo store saved with
 * quantize=none|fp16|int8 and loaded again (figures in docs/FORMAT.md). */
static void test_quantized_als_model_keeps_ranking_quality(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=800 demo_items=400 demo_days=30 demo_messages=0 seed=3"));
    aisle_dataset *all, *train, *test;
    assert_ok(aisle_demo_generate(cfg, &all));
    assert_ok(aisle_dataset_split_spec(all, "last:1", 3, &train, &test));
    assert_ok(aisle_config_parse(cfg, "model=als factors=32 epochs=8 threads=1 k=10"));
    aisle_model *m;
    assert_ok(aisle_model_train(train, cfg, &m));
    aisle_eval_result *res;
    double exact;
    assert_ok(aisle_evaluate(m, test, cfg, &res));
    assert_ok(aisle_eval_result_get(res, "ndcg@10", &exact));
    aisle_eval_result_free(res);
    static const char *names[] = {"none", "fp16", "int8"};
    double ndcg[3];
    for (int quant = 0; quant < 3; quant++) {
        size_t len[2];
        void *img;
        for (int li = 0; li < 2; li++) {
            aisle_config *sc = save_cfg(li ? 6 : 0, names[quant]);
            assert_ok(aisle_model_save_buffer(m, sc, &img, &len[li]));
            aisle_config_free(sc);
            if (!li) aisle_free(img);
        }
        aisle_model *b;
        assert_ok(aisle_model_load_buffer(&b, img, len[1], NULL));
        aisle_free(img);
        assert_ok(aisle_evaluate(b, test, cfg, &res));
        assert_ok(aisle_eval_result_get(res, "ndcg@10", &ndcg[quant]));
        aisle_eval_result_free(res);
        aisle_model_free(b);
        print_message("als factors=32, demo store 800 users x 400 items, leave-last-1: quantize=%-4s "
                      "compression=0: %7zu bytes  compression=6: %7zu bytes  NDCG@10 = %.4f\n",
                      names[quant], len[0], len[1], ndcg[quant]);
    }
    assert_true(exact > 0.02); /* the model learned something */
    assert_true(ndcg[0] == exact);
    assert_true(fabs(ndcg[1] - exact) <= 0.01 * exact);
    assert_true(fabs(ndcg[2] - exact) <= 0.05 * exact);
    aisle_model_free(m);
    aisle_dataset_free(all);
    aisle_dataset_free(train);
    aisle_dataset_free(test);
    aisle_config_free(cfg);
}

/* ---- threads ---- */

typedef struct share_ctx {
    const aisle_model *m;
    const uint8_t *img;
    size_t len;
    int ok;
} share_ctx;

static void *save_load_thread(void *arg) {
    share_ctx *c = arg;
    c->ok = 1;
    for (int i = 0; i < 20 && c->ok; i++) {
        void *img;
        size_t len;
        aisle_model *b;
        if (aisle_model_save_buffer(c->m, NULL, &img, &len) != AISLE_OK) { c->ok = 0; break; }
        c->ok = len == c->len && memcmp(img, c->img, len) == 0;
        aisle_free(img);
        if (aisle_model_load_buffer(&b, c->img, c->len, NULL) != AISLE_OK) { c->ok = 0; break; }
        size_t n;
        aisle_model_item_count(b, &n);
        c->ok = c->ok && n == c->m->items.n;
        aisle_model_free(b);
    }
    return NULL;
}

static void test_shared_model_saves_and_loads_from_many_threads(void **state) {
    (void)state;
    aisle_model *m = train_popular("model=popular");
    void *img;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &img, &len));
    pthread_t t[4];
    share_ctx c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (share_ctx){m, img, len, 0};
        assert_int_equal(pthread_create(&t[i], NULL, save_load_thread, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(c[i].ok);
    }
    aisle_free(img);
    aisle_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_rounds_to_nearest_even),
        cmocka_unit_test(test_tensor_round_trip_per_encoding),
        cmocka_unit_test(test_tensor_encodings_through_file_and_buffer),
        cmocka_unit_test(test_popular_round_trip_buffer_and_file),
        cmocka_unit_test(test_save_of_kind_without_hooks_is_unsupported),
        cmocka_unit_test(test_failed_save_leaves_old_file_intact),
        cmocka_unit_test(test_newer_major_refused_newer_minor_loads),
        cmocka_unit_test(test_unknown_optional_section_skipped_required_refused),
        cmocka_unit_test(test_unknown_kind_and_writer_version),
        cmocka_unit_test(test_every_byte_change_and_truncation_detected),
        cmocka_unit_test(test_crafted_huge_sizes_fail_before_allocating),
        cmocka_unit_test(test_allocation_failures_in_save_and_load),
        cmocka_unit_test(test_measured_sizes_and_ranking_effect_of_encodings),
        cmocka_unit_test(test_quantized_als_model_keeps_ranking_quality),
        cmocka_unit_test(test_shared_model_saves_and_loads_from_many_threads),
    };
    return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
