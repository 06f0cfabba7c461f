/* test_mmap.c - memory-mapped models (option mmap; docs/FORMAT.md "Mapped
 * models"): a mapped model serves exactly what an ordinary load serves
 * (recommend with both scans, similar items, batch, scores) for every
 * latent-factor kind, with and without the stored int8 copy and CRC check;
 * files that cannot be mapped are refused with a message; truncated and
 * corrupt files give errors (run under ASan by `make check`); updates copy
 * the pages they write and never change the file; two handles and a forked
 * child share the file's pages (/proc/self/smaps); 8 threads recommend
 * from one mapped model (run under TSan by `make check-tsan`). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz/container_frame.h"
#include "models/models.h"
#include "util/test_util.h"

enum { N_USERS = 120, K = 10 };

/* Save options of a file whose keys and history a mapped open serves in
 * place (sections 6..8) beside the factors and the int8 copy. */
#define MAPPABLE "compression=0 store_int8=true store_mappable=true"
/* The two mappable layouts the mapped-model tests run on. */
static const char *const saves[2] = {"compression=0 store_int8=true", MAPPABLE};
/* Files with fp16 factors served as stored: bare, with the int8 copy
 * (built from the fp16 values), and with the mappable tables too. */
static const char *const f16_saves[3] = {"compression=0 quantize=fp16", "compression=0 quantize=fp16 store_int8=true",
                                         MAPPABLE " quantize=fp16"};

/* Users with 1..30 items over n_items items; every item appears; values
 * 1..5 (ratings for mf, weights for the implicit kinds). */
static aisle_dataset *shop_data(uint32_t n_items) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[32], it[32];
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (uint32_t j = 0; j < n_items; j++) {
        snprintf(u, sizeof u, "user%u", j % N_USERS);
        snprintf(it, sizeof it, "item%u", j);
        assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1 + j % 5, 0));
    }
    for (uint32_t r = 0; r < N_USERS; r++)
        for (uint32_t t = 0; t < 1 + r % 30; t++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            snprintf(u, sizeof u, "user%u", r);
            snprintf(it, sizeof it, "item%u", (uint32_t)(s % n_items));
            assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1 + (double)(s % 5), 0));
        }
    return ds;
}

static aisle_model *train(uint32_t n_items, const char *options) {
    aisle_dataset *ds = shop_data(n_items);
    aisle_model *m = tu_train(ds, options);
    aisle_dataset_free(ds);
    return m;
}

static void path_in(char *out, size_t len, const char *dir, const char *name) {
    snprintf(out, len, "%s/%s", dir, name);
}

/* path (600 bytes) = `file` in a fresh scratch directory `name`. */
static void scratch_file(char *path, const char *name, const char *file) {
    char dir[512];
    tu_tmpdir(dir, sizeof dir, name);
    path_in(path, 600, dir, file);
}

/* out (600 bytes; may be path) = `file` in the directory of path. */
static void sibling(char *out, const char *path, const char *file) {
    const char *slash = strrchr(path, '/');
    int n = slash ? (int)(slash - path) : 0;
    char tmp[600];
    if (snprintf(tmp, sizeof tmp, "%.*s/%s", n, path, file) >= (int)sizeof tmp) fail_msg("path too long: %s", file);
    memcpy(out, tmp, strlen(tmp) + 1);
}

static aisle_rec_options *scan_opts(const char *scan) {
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "scan", scan));
    return o;
}

static void assert_same_list(const char **ia, const float *sa, size_t na, const char **ib, const float *sb,
                             size_t nb, const char *what, const char *key) {
    if (na != nb) fail_msg("%s %s: %zu vs %zu results", what, key, na, nb);
    for (size_t i = 0; i < na; i++)
        if (strcmp(ia[i], ib[i]) != 0 || memcmp(&sa[i], &sb[i], sizeof(float)) != 0)
            fail_msg("%s %s: rank %zu is %s %.9g vs %s %.9g", what, key, i, ia[i], (double)sa[i], ib[i],
                     (double)sb[i]);
}

/* Every list a and b serve: recommend (int8 and fp32 scans) for every
 * user, similar items for 40 items, a batch of every user, some scores. */
static void assert_same_serving(const aisle_model *a, const aisle_model *b) {
    const char *scans[2] = {"int8", "fp32"};
    const char *ia[K], *ib[K];
    float sa[K], sb[K];
    size_t na, nb;
    char key[32];
    for (int v = 0; v < 2; v++) {
        aisle_rec_options *o = scan_opts(scans[v]);
        for (uint32_t u = 0; u < N_USERS; u++) {
            snprintf(key, sizeof key, "user%u", u);
            assert_ok(aisle_recommend(a, key, K, o, ia, sa, &na));
            assert_ok(aisle_recommend(b, key, K, o, ib, sb, &nb));
            assert_same_list(ia, sa, na, ib, sb, nb, scans[v], key);
        }
        aisle_rec_options_free(o);
    }
    for (uint32_t j = 0; j < 40; j++) {
        snprintf(key, sizeof key, "item%u", j * 7);
        assert_ok(aisle_similar_items(a, key, K, NULL, ia, sa, &na));
        assert_ok(aisle_similar_items(b, key, K, NULL, ib, sb, &nb));
        assert_same_list(ia, sa, na, ib, sb, nb, "similar", key);
    }
    static char names[N_USERS][16];
    const char *users[N_USERS];
    for (uint32_t u = 0; u < N_USERS; u++) snprintf(names[u], sizeof names[u], "user%u", u), users[u] = names[u];
    const char **ba = calloc(N_USERS * K, sizeof *ba), **bb = calloc(N_USERS * K, sizeof *bb);
    float *fa = calloc(N_USERS * K, sizeof *fa), *fb = calloc(N_USERS * K, sizeof *fb);
    size_t ca[N_USERS], cb[N_USERS];
    assert_true(ba && bb && fa && fb);
    for (int v = 0; v < 2; v++) { /* the int8 scan per user, the tiled sgemm */
        aisle_rec_options *o = scan_opts(scans[v]);
        assert_ok(aisle_recommend_batch(a, users, N_USERS, K, o, ba, fa, ca));
        assert_ok(aisle_recommend_batch(b, users, N_USERS, K, o, bb, fb, cb));
        for (uint32_t u = 0; u < N_USERS; u++)
            assert_same_list(ba + u * K, fa + u * K, ca[u], bb + u * K, fb + u * K, cb[u], scans[v], users[u]);
        aisle_rec_options_free(o);
    }
    free(ba), free(bb), free(fa), free(fb);
    /* anonymous sessions (fold-in) and explanations */
    for (uint32_t s = 0; s < 6; s++) {
        char i0[32], i1[32], i2[32];
        snprintf(i0, sizeof i0, "item%u", s * 13), snprintf(i1, sizeof i1, "item%u", s * 29 + 1);
        snprintf(i2, sizeof i2, "item%u", s * 31 + 2);
        const char *session[3] = {i0, i1, i2};
        const float w[3] = {1, 2, 0.5f};
        assert_ok(aisle_recommend_for_items(a, session, w, 3, K, NULL, ia, sa, &na));
        assert_ok(aisle_recommend_for_items(b, session, w, 3, K, NULL, ib, sb, &nb));
        assert_same_list(ia, sa, na, ib, sb, nb, "session", i0);
        snprintf(key, sizeof key, "user%u", s * 17 + 3);
        assert_ok(aisle_explain(a, key, i1, K, ia, sa, &na));
        assert_ok(aisle_explain(b, key, i1, K, ib, sb, &nb));
        assert_same_list(ia, sa, na, ib, sb, nb, "explain", key);
    }
    for (uint32_t u = 0; u < N_USERS; u += 11) {
        float x, y;
        snprintf(key, sizeof key, "item%u", u * 3);
        assert_ok(aisle_score(a, users[u], key, &x));
        assert_ok(aisle_score(b, users[u], key, &y));
        assert_memory_equal(&x, &y, sizeof x);
    }
}

/* The two ways a file opens mapped. */
static const char *const map_modes[2] = {"mmap=true", "mmap=true mmap_verify=none"};

/* Opens `path` mapped in each mode: the mapping is the whole file, and the
 * model serves what ref serves; then, if given, each(mm, mode) checks
 * more. */
static void assert_mapped_opens_serve(const aisle_model *ref, const char *path,
                                      void (*each)(aisle_model *mm, int mode, void *ctx), void *ctx) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    for (int v = 0; v < 2; v++) {
        aisle_model *mm;
        size_t bytes = 0;
        assert_ok(tu_model_load_opts(&mm, path, map_modes[v]));
        assert_ok(aisle_model_mapped_bytes(mm, &bytes));
        assert_int_equal(bytes, (size_t)st.st_size);
        assert_same_serving(ref, mm);
        if (each) each(mm, v, ctx);
        aisle_model_free(mm);
    }
}

/* The current models of two servers serve the same, the user `extra`
 * (one they added; NULL: none) included. */
static void assert_servers_serve_the_same(aisle_server *sa, aisle_server *sb, const char *extra) {
    const aisle_model *la, *lb;
    assert_ok(aisle_server_acquire(sa, &la));
    assert_ok(aisle_server_acquire(sb, &lb));
    assert_same_serving(la, lb);
    const char *ra[K], *rb[K];
    float fa[K], fb[K];
    size_t na, nb;
    if (extra) {
        assert_ok(aisle_recommend(la, extra, K, NULL, ra, fa, &na));
        assert_ok(aisle_recommend(lb, extra, K, NULL, rb, fb, &nb));
        assert_same_list(ra, fa, na, rb, fb, nb, "added user", extra);
    }
    assert_ok(aisle_server_release(sa, la));
    assert_ok(aisle_server_release(sb, lb));
}

static const char *const factor_kinds[] = {
    "model=als factors=16 epochs=2 threads=1",
    "model=bpr factors=16 epochs=2 threads=1",
    "model=mf factors=16 epochs=2 threads=1",
    "model=mf factors=8 epochs=2 threads=1 implicit_feedback=true",
    "model=hybrid factors=8 epochs=2 threads=1",
};

static void test_mapped_model_serves_what_a_loaded_model_serves(void **state) {
    (void)state;
    char dir[512], plain[600], int8[600], tables[600];
    tu_tmpdir(dir, sizeof dir, "mmap_same");
    path_in(plain, sizeof plain, dir, "plain.aisle");
    path_in(int8, sizeof int8, dir, "int8.aisle");
    path_in(tables, sizeof tables, dir, "tables.aisle");
    for (size_t k = 0; k < sizeof factor_kinds / sizeof *factor_kinds; k++) {
        aisle_model *m = train(4500, factor_kinds[k]); /* >= 4096 items: scan=auto takes int8 too */
        assert_ok(tu_model_save_opts(m, plain, "compression=0"));
        assert_ok(tu_model_save_opts(m, int8, "compression=0 store_int8=true"));
        assert_ok(tu_model_save_opts(m, tables, MAPPABLE));
        aisle_model *ref;
        assert_ok(aisle_model_load(&ref, plain, NULL));
        size_t bytes = 1;
        assert_ok(aisle_model_mapped_bytes(ref, &bytes));
        assert_int_equal(bytes, 0);
        const char *paths[3] = {plain, int8, tables};
        for (int p = 0; p < 3; p++) assert_mapped_opens_serve(ref, paths[p], NULL, NULL);
        /* the stored int8 copy also serves an ordinary load */
        aisle_model *l8;
        assert_ok(aisle_model_load(&l8, int8, NULL));
        assert_same_serving(ref, l8);
        aisle_model_free(l8);
        /* an ordinary load skips the mappable tables (as older readers do) */
        assert_ok(aisle_model_load(&l8, tables, NULL));
        assert_same_serving(ref, l8);
        aisle_model_free(l8);
        aisle_model_free(ref);
        aisle_model_free(m);
    }
}

/* Rewrites a format 1.1 file as a 1.0 writer would have: without the
 * padding sections, minor version 0, header CRC recomputed. */
static size_t strip_padding(uint8_t *img, size_t len) {
    uint32_t n = (uint32_t)img[16] | (uint32_t)img[17] << 8 | (uint32_t)img[18] << 16 | (uint32_t)img[19] << 24;
    size_t hl = 88 + (size_t)n * 32 + 4;
    uint8_t *out = malloc(len), *e = out + 88;
    assert_non_null(out);
    memcpy(out, img, 88);
    size_t data = hl, kept = 0, w = 0;
    uint8_t *body = malloc(len);
    assert_non_null(body);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *src = img + 88 + (size_t)i * 32;
        uint64_t stored = 0;
        for (int b = 7; b >= 0; b--) stored = stored << 8 | src[16 + b];
        uint32_t type = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 | (uint32_t)src[3] << 24;
        if (type < 0xFFFF0000u) {
            memcpy(e, src, 32), e += 32, kept++;
            memcpy(body + w, img + data, stored), w += stored;
        }
        data += stored;
    }
    out[16] = (uint8_t)kept, out[17] = (uint8_t)(kept >> 8), out[18] = out[19] = 0;
    out[10] = out[11] = 0;
    size_t nhl = 88 + kept * 32 + 4;
    uint32_t crc = (uint32_t)crc32(0L, out, (uInt)(nhl - 4));
    for (int b = 0; b < 4; b++) out[nhl - 4 + b] = (uint8_t)(crc >> (8 * b));
    memcpy(out + nhl, body, w);
    memcpy(img, out, nhl + w);
    free(out), free(body);
    return nhl + w;
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_files_that_cannot_be_mapped_are_refused_with_a_reason(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_refused", "m.aisle");
    aisle_model *m = train(300, "model=als factors=8 epochs=1 threads=1"), *x = NULL;
    assert_ok(tu_model_save_opts(m, path, "compression=6"));
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EUNSUPPORTED, "compression=0");
    assert_ok(tu_model_save_opts(m, path, "compression=0 quantize=int8"));
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EUNSUPPORTED, "int8");
    assert_status_msg(tu_model_save_opts(m, path, "compression=0 quantize=int8 store_int8=true"), AISLE_EINVAL,
                      "quantize=none");
    assert_status_msg(tu_model_save_opts(m, path, "compression=6 store_mappable=true"), AISLE_EINVAL,
                      "compression=0");
    /* an old-layout (format 1.0) file still loads, but is not mapped */
    assert_ok(tu_model_save_opts(m, path, "compression=0"));
    size_t len;
    uint8_t *img = read_all(path, &len);
    len = strip_padding(img, len);
    tu_write_file(path, img, len);
    free(img);
    assert_ok(aisle_model_load(&x, path, NULL));
    aisle_model_free(x);
    x = NULL;
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EUNSUPPORTED, "aligned");
    aisle_model *pop = train(300, "model=popular");
    assert_ok(tu_model_save_opts(pop, path, "compression=0"));
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EUNSUPPORTED, "factor");
    sibling(path, path, "missing.aisle");
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EIO, "missing.aisle");
    assert_null(x);
    aisle_model_free(pop);
    aisle_model_free(m);
}

/* Every truncation and a spread of byte changes of a mapped file: an
 * error or (mmap_verify=none, a change inside a tensor) a model that
 * serves; never a crash or a read outside the file (ASan). */
static void test_truncated_and_corrupt_mapped_files_give_errors(void **state) {
    (void)state;
    char dir[512], good[600], bad[600];
    tu_tmpdir(dir, sizeof dir, "mmap_corrupt");
    path_in(good, sizeof good, dir, "good.aisle");
    path_in(bad, sizeof bad, dir, "bad.aisle");
    aisle_model *m = train(40, "model=mf factors=4 epochs=1 threads=1");
    for (int s = 0; s < 2; s++) {
        assert_ok(tu_model_save_opts(m, good, saves[s]));
        size_t len;
        uint8_t *img = read_all(good, &len);
        for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
            tu_write_file(bad, img, cut);
            for (int v = 0; v < 2; v++) {
                aisle_model *x = NULL;
                int rc = tu_model_load_opts(&x, bad, map_modes[v]);
                if (rc == AISLE_OK) fail_msg("truncated at %zu of %zu bytes: loaded", cut, len);
                assert_null(x);
            }
        }
        size_t loaded_unverified = 0;
        for (size_t at = 0; at < len; at += 1 + at / 97) {
            img[at] ^= 0x5A;
            tu_write_file(bad, img, len);
            for (int v = 0; v < 2; v++) {
                aisle_model *x = NULL;
                int rc = tu_model_load_opts(&x, bad, map_modes[v]);
                if (rc == AISLE_OK && v == 0) fail_msg("byte %zu changed: loaded with mmap_verify=open", at);
                if (rc == AISLE_OK) { /* inside a mapped tensor: wrong numbers, still served safely */
                    const char *items[K];
                    float scores[K];
                    size_t n;
                    assert_ok(aisle_recommend(x, "user1", K, NULL, items, scores, &n));
                    loaded_unverified++;
                }
                aisle_model_free(x);
            }
            img[at] ^= 0x5A;
        }
        assert_true(loaded_unverified > 0); /* the tensors are really left unverified */
        free(img);
    }
    aisle_model_free(m);
}

/* ---- the mappable key tables and history (save option store_mappable) ---- */

/* The payload of section `type` in a container image, and its length. */
static uint8_t *section_at(uint8_t *img, uint32_t type, size_t *len) {
    uint32_t n = rd32(img + 16);
    size_t off = 88 + (size_t)n * 32 + 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = img + 88 + (size_t)i * 32;
        size_t stored = rd32(e + 16) | (size_t)rd32(e + 20) << 32;
        if (rd32(e) == type) {
            *len = stored;
            return img + off;
        }
        off += stored;
    }
    fail_msg("no section %u", type);
    return NULL;
}

static uint64_t rd64le(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr64le(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v), wr32(p + 4, (uint32_t)(v >> 32)); }

/* Users table (section 6) fields: key count, slot count, and where the
 * offsets, the slots and the arena start (docs/FORMAT.md). */
typedef struct table_at {
    uint64_t n, nslots;
    uint8_t *offsets, *slots, *arena;
} table_at;
static table_at users_table(uint8_t *img) {
    size_t len;
    uint8_t *p = section_at(img, 6, &len);
    table_at t = {rd64le(p + 8), rd64le(p + 24), p + 64, NULL, NULL};
    t.slots = p + ((64 + t.n * 8 + 63) / 64 * 64);
    t.arena = t.slots + ((t.nslots * 4 + 63) / 64 * 64);
    return t;
}

/* Opens bad (CRCs recomputed) both ways: with mmap_verify=open it must
 * fail with AISLE_EFORMAT naming `needle`; with none it fails the same
 * way when `both`, else opens and serves every user (known or not)
 * without reading outside the file (ASan). */
static void expect_tables_checked(const uint8_t *img, size_t len, const char *path, const char *needle, bool both) {
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, img, len);
    fix_crcs(bad, len);
    tu_write_file(path, bad, len);
    free(bad);
    aisle_model *x = NULL;
    assert_status_msg(tu_model_load_opts(&x, path, "mmap=true"), AISLE_EFORMAT, needle);
    if (both) {
        assert_status_msg(tu_model_load_opts(&x, path, "mmap=true mmap_verify=none"), AISLE_EFORMAT, needle);
        return;
    }
    assert_ok(tu_model_load_opts(&x, path, "mmap=true mmap_verify=none"));
    char key[32];
    const char *items[K];
    float scores[K];
    size_t n;
    for (uint32_t u = 0; u <= N_USERS; u++) {
        snprintf(key, sizeof key, "user%u", u);
        assert_ok(aisle_recommend(x, key, K, NULL, items, scores, &n));
    }
    const char *bought[1] = {"item1"};
    int rc = aisle_update_user(x, "user3", bought, NULL, 1); /* user3 may be lost in a broken table */
    assert_true(rc == AISLE_OK || rc == AISLE_ENOTFOUND);
    aisle_model_free(x);
}

static void test_mappable_tables_are_checked_behind_the_crc(void **state) {
    (void)state;
    char path[600], bad[600];
    scratch_file(path, "mmap_tables", "m.aisle");
    sibling(bad, path, "bad.aisle");
    aisle_model *m = train(400, "model=als factors=8 epochs=1 threads=1");
    assert_ok(tu_model_save_opts(m, path, MAPPABLE));
    size_t len;
    uint8_t *img = read_all(path, &len);
    table_at t = users_table(img);
    assert_int_equal(t.n, N_USERS);
    assert_true(t.nslots >= 2 * t.n);
    uint32_t s0 = 0; /* an occupied slot */
    while (!rd32(t.slots + 4 * s0)) s0++;
    /* a slot naming a key past the count */
    uint32_t was = rd32(t.slots + 4 * s0);
    wr32(t.slots + 4 * s0, (uint32_t)t.n + 5);
    expect_tables_checked(img, len, bad, "slot", false);
    wr32(t.slots + 4 * s0, was);
    /* every slot occupied: a lookup of an unknown key must still stop */
    uint8_t *saved = malloc(t.nslots * 4);
    assert_non_null(saved);
    memcpy(saved, t.slots, t.nslots * 4);
    for (uint64_t i = 0; i < t.nslots; i++) wr32(t.slots + 4 * i, 1 + (uint32_t)(i % t.n));
    expect_tables_checked(img, len, bad, "slots", false);
    memcpy(t.slots, saved, t.nslots * 4);
    free(saved);
    /* an offset far past the arena */
    uint64_t off3 = rd64le(t.offsets + 24);
    wr64le(t.offsets + 24, 1ull << 40);
    expect_tables_checked(img, len, bad, "offsets", false);
    /* an empty key (the arena's final NUL): opened unverified, the model
     * serves, but saving it is refused rather than writing a file that
     * would not load (found by fuzz_model_mmap; the input is in its corpus) */
    size_t tl;
    uint8_t *ut0 = section_at(img, 6, &tl);
    wr64le(t.offsets + 24, (uint64_t)(ut0 + tl - 1 - t.arena));
    expect_tables_checked(img, len, bad, "offsets", false);
    aisle_model *x;
    assert_ok(tu_model_load_opts(&x, bad, "mmap=true mmap_verify=none"));
    void *image;
    size_t image_len;
    assert_status_msg(aisle_model_save_buffer(x, NULL, &image, &image_len), AISLE_EFORMAT, "cannot be saved");
    aisle_model_free(x);
    wr64le(t.offsets + 24, off3);
    /* the table's key differs from the ordinary USERS section's: a file
     * that would load differently the ordinary way does not open verified;
     * unverified, the table is what serves */
    size_t ul;
    uint8_t *users = section_at(img, 2, &ul);
    assert_int_equal(users[8 + 4], 'u');
    users[8 + 4] = 'v';
    expect_tables_checked(img, len, bad, "differs", false);
    users[8 + 4] = 'u';
    /* history: an item index past the items, row pointers out of order --
     * refused whatever the verification */
    size_t hl;
    uint8_t *hist = section_at(img, 8, &hl);
    uint32_t rows = rd32(hist + 4), cols = rd32(hist + 8);
    uint8_t *indices = hist + (64 + ((size_t)rows + 1) * 8 + 63) / 64 * 64;
    uint32_t i0 = rd32(indices);
    wr32(indices, cols + 1);
    expect_tables_checked(img, len, bad, "indices", true);
    wr32(indices, i0);
    uint64_t p1 = rd64le(hist + 64 + 8);
    wr64le(hist + 64 + 8, 1ull << 33);
    expect_tables_checked(img, len, bad, "indptr", true);
    wr64le(hist + 64 + 8, p1);
    /* a table format this release does not know: the ordinary sections
     * are decoded instead, and the model serves the same */
    uint8_t *ut = section_at(img, 6, &ul);
    wr32(ut, 2);
    fix_crcs(img, len);
    tu_write_file(bad, img, len);
    aisle_model *ref;
    assert_ok(aisle_model_load(&ref, path, NULL));
    assert_ok(tu_model_load_opts(&x, bad, "mmap=true"));
    assert_same_serving(ref, x);
    aisle_model_free(x);
    aisle_model_free(ref);
    free(img);
    aisle_model_free(m);
}

static uint64_t file_hash(const char *path) {
    size_t len;
    uint8_t *b = read_all(path, &len);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211ull;
    free(b);
    return h;
}

static void test_update_user_on_a_mapped_model_copies_pages_not_the_file(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_update", "m.aisle");
    const char *kinds[2] = {"model=als factors=8 epochs=2 threads=1", "model=mf factors=8 epochs=2 threads=1"};
    for (int k = 0; k < 6; k++) { /* both layouts, then fp16 factors (widened on the first update) */
        aisle_model *m = train(500, kinds[k % 2]);
        assert_ok(tu_model_save_opts(m, path, k < 4 ? saves[k / 2] : f16_saves[1]));
        uint64_t before = file_hash(path);
        aisle_model *ref, *mm, *other;
        assert_ok(aisle_model_load(&ref, path, NULL));
        assert_ok(tu_model_load_opts(&mm, path, "mmap=true"));
        assert_ok(tu_model_load_opts(&other, path, "mmap=true"));
        const char *items[3] = {"item3", "item4", "item5"};
        const float w[3] = {5, 4, 1};
        assert_ok(aisle_update_user(ref, "user7", items, w, 3));
        assert_ok(aisle_update_user(mm, "user7", items, w, 3));
        assert_ok(aisle_update_user(mm, "user8", items + 1, w, 2));
        assert_ok(aisle_update_user(ref, "user8", items + 1, w, 2));
        assert_same_serving(ref, mm);
        assert_int_equal(file_hash(path), before); /* never written through */
        /* the other handle of the same file still serves the saved model */
        aisle_model *fresh;
        assert_ok(aisle_model_load(&fresh, path, NULL));
        assert_same_serving(fresh, other);
        aisle_model_free(fresh);
        aisle_model_free(other);
        aisle_model_free(mm);
        aisle_model_free(ref);
        aisle_model_free(m);
    }
}

/* Users and items added through an aisle_server to a mapped model (the
 * grown arrays are copied out of the mapping, the stored int8 copy is
 * replaced): the same lists as an ordinary load grown the same way, and the
 * file never changes. */
static void test_users_and_items_added_to_a_served_mapped_model(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_grow", "m.aisle");
    aisle_model *m = train(4500, "model=als factors=8 epochs=2 threads=1");
    for (int save = 0; save < 3; save++) { /* both layouts, then fp16 factors */
        assert_ok(tu_model_save_opts(m, path, save < 2 ? saves[save] : f16_saves[2]));
        uint64_t before = file_hash(path);
        aisle_model *a, *b;
        assert_ok(aisle_model_load(&a, path, NULL));
        assert_ok(tu_model_load_opts(&b, path, "mmap=true"));
        aisle_server *sa, *sb;
        assert_ok(aisle_server_new(&sa, a));
        assert_ok(aisle_server_new(&sb, b));
        float v[8] = {0.5f, -0.25f, 1, 0.125f, -1, 0.75f, 0.5f, 2};
        const char *items[2] = {"brand-new", "item9"};
        aisle_server *both[2] = {sa, sb};
        for (int i = 0; i < 2; i++) {
            assert_ok(aisle_server_add_item(both[i], "brand-new", v, 8));
            assert_ok(aisle_server_add_user(both[i], "newcomer", items, NULL, 2));
            assert_ok(aisle_server_update_user(both[i], "user5", items, NULL, 1));
        }
        assert_servers_serve_the_same(sa, sb, "newcomer");
        assert_int_equal(file_hash(path), before);
        aisle_server_free(sa);
        aisle_server_free(sb);
    }
    aisle_model_free(m);
}

/* Rss and Shared_Clean (kB) of this process's mappings of `path`. */
static void smaps_of(const char *file, long *rss, long *shared_clean) {
    char path[4096];
    assert_non_null(realpath(file, path)); /* smaps names the absolute path */
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[1024];
    bool in = false;
    *rss = *shared_clean = 0;
    while (fgets(line, sizeof line, f)) {
        long v;
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) in = strstr(line, path) != NULL; /* a mapping's first line */
        if (!in) continue;
        if (sscanf(line, "Rss: %ld kB", &v) == 1) *rss += v;
        if (sscanf(line, "Shared_Clean: %ld kB", &v) == 1) *shared_clean += v;
    }
    fclose(f);
}

/* Reads every item factor (a similar_items scan reads them all) and every
 * user row (batch), so every mapped tensor page is resident. */
static void touch_all(const aisle_model *m) {
    const char *items[K];
    float scores[K];
    size_t n;
    assert_ok(aisle_similar_items(m, "item1", K, NULL, items, scores, &n));
    char key[32];
    for (uint32_t u = 0; u < N_USERS; u++) {
        snprintf(key, sizeof key, "user%u", u);
        assert_ok(aisle_recommend(m, key, K, NULL, items, scores, &n));
    }
}

static void test_two_handles_and_a_forked_child_share_pages(void **state) {
    (void)state;
    FILE *probe = fopen("/proc/self/smaps", "r");
    if (!probe) skip(); /* not Linux: nothing to look at */
    fclose(probe);
    char path[600];
    scratch_file(path, "mmap_share", "big.aisle");
    aisle_model *m = train(20000, "model=als factors=64 epochs=1 threads=1"); /* item factors 5 MB */
    assert_ok(tu_model_save_opts(m, path, "compression=0 store_int8=true"));
    aisle_model_free(m);
    aisle_model *a, *b;
    assert_ok(tu_model_load_opts(&a, path, "mmap=true"));
    touch_all(a);
    long rss1, sh1;
    smaps_of(path, &rss1, &sh1);
    assert_ok(tu_model_load_opts(&b, path, "mmap=true"));
    touch_all(b);
    long rss2, sh2;
    smaps_of(path, &rss2, &sh2);
    print_message("one handle: Rss %ld kB; two handles: Rss %ld kB, Shared_Clean %ld kB\n", rss1, rss2, sh2);
    assert_true(rss1 >= 20000 * 64 * 4 / 1024);  /* the item factors are resident in the mapping ... */
    assert_true(sh2 >= rss1 * 2 * 9 / 10);       /* ... and both handles' pages are the same pages */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a child that opens the file itself (as another server process
         * would): its fresh mapping is backed by the same page-cache pages */
        aisle_model *c;
        int ok = tu_model_load_opts(&c, path, "mmap=true") == AISLE_OK;
        if (ok) {
            const char *items[K];
            float scores[K];
            size_t n;
            ok = aisle_similar_items(c, "item1", K, NULL, items, scores, &n) == AISLE_OK;
            /* fork copies no page tables of file mappings, so what is
             * resident here is what the child's own use mapped */
            long r, s;
            smaps_of(path, &r, &s);
            fprintf(stderr, "child: Rss %ld kB, Shared_Clean %ld kB\n", r, s);
            ok = ok && r >= 20000 * 64 * 4 / 1024 && s >= r * 9 / 10;
            aisle_model_free(c);
        }
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    aisle_model_free(b);
    aisle_model_free(a);
}

/* ---- 8 threads recommending from one mapped model ---- */

typedef struct reader_ctx {
    const aisle_model *m;
    const char *(*expect)[K];
    int failures;
} reader_ctx;

static void *reader(void *p) {
    reader_ctx *c = p;
    const char *items[K];
    float scores[K];
    size_t n;
    char key[32];
    for (int round = 0; round < 3; round++)
        for (uint32_t u = 0; u < N_USERS; u++) {
            snprintf(key, sizeof key, "user%u", u);
            if (aisle_recommend(c->m, key, K, NULL, items, scores, &n) != AISLE_OK || n != K) {
                c->failures++;
                continue;
            }
            for (size_t i = 0; i < n; i++)
                if (strcmp(items[i], c->expect[u][i]) != 0) c->failures++;
        }
    return NULL;
}

static void test_eight_threads_recommend_from_one_mapped_model(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_threads", "m.aisle");
    aisle_model *m = train(4500, "model=als factors=16 epochs=1 threads=1");
    assert_ok(tu_model_save_opts(m, path, "compression=0 store_int8=true"));
    aisle_model *mm;
    assert_ok(tu_model_load_opts(&mm, path, "mmap=true"));
    static const char *expect[N_USERS][K];
    float scores[K];
    size_t n;
    char key[32];
    for (uint32_t u = 0; u < N_USERS; u++) {
        snprintf(key, sizeof key, "user%u", u);
        assert_ok(aisle_recommend(m, key, K, NULL, expect[u], scores, &n));
        assert_int_equal(n, K);
    }
    pthread_t t[8];
    reader_ctx c[8];
    for (int i = 0; i < 8; i++) {
        c[i] = (reader_ctx){mm, expect, 0};
        assert_int_equal(pthread_create(&t[i], NULL, reader, &c[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(c[i].failures, 0);
    }
    aisle_model_free(mm);
    aisle_model_free(m);
}

/* ---- fp16 factors served as stored (quantize=fp16, docs/FORMAT.md) ---- */

static size_t file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

/* The widening every read path uses (F16C where the CPU has it) gives
 * io_f16_to_f32's value for every binary16 bit pattern, in blocks and in
 * the scalar tails (NaN stays NaN), which is why a mapped fp16 model
 * scores exactly as the decoded one. */
static void test_fp16_widening_and_dot_products_are_exact(void **state) {
    (void)state;
    uint16_t *h = malloc(65536 * sizeof *h);
    float *out = malloc(65536 * sizeof *out);
    assert_true(h && out);
    for (uint32_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    for (size_t chunk = 1; chunk <= 65536; chunk = chunk * 3 + 2) {
        for (size_t at = 0; at < 65536; at += chunk) model_f16_widen(h + at, out + at, CORE_MIN(chunk, 65536 - at));
        for (uint32_t i = 0; i < 65536; i++) {
            float want = io_f16_to_f32((uint16_t)i);
            if (want != want ? out[i] == out[i] : memcmp(&want, &out[i], sizeof want) != 0)
                fail_msg("chunk %zu: 0x%04x widened to %.9g, expected %.9g", chunk, i, (double)out[i], (double)want);
        }
    }
    /* the fp16 scan's dot products: model_dot over the widened rows, for
     * row counts around its 4-row interleave and dims around its 8 lanes */
    uint64_t r = 0x2545F4914F6CDD1Dull;
    float x[67], row[67], dots[11];
    for (uint32_t i = 0; i < 67 * 11; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        h[i] = (uint16_t)(r & 0x7bff) | (uint16_t)(r >> 63 << 15); /* finite, either sign */
        if (i < 67) x[i] = io_f16_to_f32((uint16_t)(r >> 20)) * 0.25f;
        if (i < 67 && x[i] != x[i]) x[i] = 1.5f;
    }
    const uint32_t dims[] = {1, 3, 7, 8, 9, 16, 17, 64, 67};
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++)
        for (size_t n = 1; n <= 11; n++) {
            uint32_t d = dims[di];
            model_f16_dots(x, h, n, d, dots);
            for (size_t i = 0; i < n; i++) {
                model_f16_widen(h + i * d, row, d);
                float want = model_dot(x, row, d);
                if (memcmp(&want, &dots[i], sizeof want) != 0 && !(want != want && dots[i] != dots[i]))
                    fail_msg("dim %u, %zu rows: row %zu dot %.9g, expected %.9g", d, n, i, (double)dots[i],
                             (double)want);
            }
        }
    free(h);
    free(out);
}

/* What each mapped open of an fp16 file must also show: no fp32 matrix
 * to give, the fp16 rows named by describe, and (first mode) a save that
 * widens the rows for the writer gives the same model again. */
typedef struct f16_open_ctx {
    const aisle_model *ref;
    const char *scratch; /* a path to save to */
} f16_open_ctx;

static void f16_open_checks(aisle_model *mm, int mode, void *vc) {
    const f16_open_ctx *c = vc;
    const float *data;
    size_t rows, dim;
    assert_status_msg(aisle_model_factors(mm, AISLE_FACTORS_ITEMS, &data, &rows, &dim), AISLE_EUNSUPPORTED, "fp16");
    char text[4096];
    assert_ok(aisle_model_describe(mm, text, sizeof text, NULL));
    assert_non_null(strstr(text, "factor_rows: fp16"));
    if (mode == 0) {
        aisle_model *again;
        assert_ok(tu_model_save_opts(mm, c->scratch, "compression=0"));
        assert_ok(aisle_model_load(&again, c->scratch, NULL));
        assert_same_serving(c->ref, again);
        aisle_model_free(again);
    }
}

/* A model opened mapped from an fp16 file: every list and score equals the
 * ordinary load of the same file (decoded to fp32), bit for bit; the
 * mapping is the file (fp16 bytes: about half the fp32 file); the fp16
 * rows are never decoded into an fp32 matrix (aisle_model_factors has
 * none to give); the file is never written. */
static void test_mapped_fp16_model_serves_what_its_ordinary_load_serves(void **state) {
    (void)state;
    char dir[512], path[600], fp32[600];
    tu_tmpdir(dir, sizeof dir, "mmap_f16");
    path_in(path, sizeof path, dir, "f16.aisle");
    path_in(fp32, sizeof fp32, dir, "f32.aisle");
    for (size_t k = 0; k < sizeof factor_kinds / sizeof *factor_kinds; k++) {
        aisle_model *m = train(4500, factor_kinds[k]);
        assert_ok(tu_model_save_opts(m, fp32, "compression=0"));
        const float *data;
        size_t rows, dim;
        assert_ok(aisle_model_factors(m, AISLE_FACTORS_ITEMS, &data, &rows, &dim));
        for (int s = 0; s < 3; s++) {
            assert_ok(tu_model_save_opts(m, path, f16_saves[s]));
            uint64_t before = file_hash(path);
            /* two bytes a factor instead of four (less two sections' padding) */
            if (s == 0) assert_true(file_size(fp32) - file_size(path) + 128 >= (N_USERS + rows) * dim * 2);
            aisle_model *ref;
            assert_ok(aisle_model_load(&ref, path, NULL)); /* decoded to fp32 */
            assert_ok(aisle_model_factors(ref, AISLE_FACTORS_ITEMS, &data, &rows, &dim));
            f16_open_ctx c = {ref, fp32};
            assert_mapped_opens_serve(ref, path, f16_open_checks, &c);
            aisle_model_free(ref);
            assert_int_equal(file_hash(path), before);
        }
        aisle_model_free(m);
    }
}

/* Items with identical vectors (exact ties at every score) added before
 * saving: the mapped fp16 model breaks the ties as the ordinary load does
 * (to the lower index), with either scan and in batch. */
static void test_mapped_fp16_model_breaks_ties_as_an_ordinary_load(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_f16_ties", "ties.aisle");
    aisle_model *m = train(4500, "model=als factors=16 epochs=2 threads=1");
    const float *items;
    size_t rows, dim;
    assert_ok(aisle_model_factors(m, AISLE_FACTORS_ITEMS, &items, &rows, &dim));
    float v[3][16];
    for (int c = 0; c < 3; c++) memcpy(v[c], items + (size_t)(c * 7) * dim, sizeof v[c]);
    aisle_server *srv;
    assert_ok(aisle_server_new(&srv, m));
    char key[32];
    for (int i = 0; i < 60; i++) { /* 20 copies each of items 0, 7 and 14 */
        snprintf(key, sizeof key, "twin%d", i);
        assert_ok(aisle_server_add_item(srv, key, v[i % 3], dim));
    }
    const aisle_model *grown;
    assert_ok(aisle_server_acquire(srv, &grown));
    for (int s = 0; s < 3; s++) {
        assert_ok(tu_model_save_opts(grown, path, f16_saves[s]));
        aisle_model *ref, *mm;
        assert_ok(aisle_model_load(&ref, path, NULL));
        assert_ok(tu_model_load_opts(&mm, path, "mmap=true"));
        assert_same_serving(ref, mm);
        /* the list is all ties (the twins, and items training gave the
         * same vector): the tie-breaking is really exercised */
        const char *similar[K], *source;
        float sc[K];
        size_t n;
        assert_ok(aisle_model_item_key(mm, 7, &source));
        assert_ok(aisle_similar_items(mm, source, K, NULL, similar, sc, &n));
        assert_int_equal(n, K);
        assert_memory_equal(&sc[0], &sc[K - 1], sizeof sc[0]);
        aisle_model_free(mm);
        aisle_model_free(ref);
    }
    assert_ok(aisle_server_release(srv, grown));
    aisle_server_free(srv);
}

/* Opening a mapped fp16 model and serving from it (both scans, similar
 * items, a session, a score) never allocates a block as large as a
 * quarter of the item matrix in fp32: the rows are widened as read. */
static size_t alloc_max;
static void *max_malloc(void *ctx, size_t n) {
    (void)ctx;
    if (n > alloc_max) alloc_max = n;
    return malloc(n);
}
static void *max_realloc(void *ctx, void *p, size_t n) {
    (void)ctx;
    if (n > alloc_max) alloc_max = n;
    return realloc(p, n);
}
static void max_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

static void test_mapped_fp16_rows_are_widened_as_read_not_copied(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_f16_alloc", "m.aisle");
    aisle_model *m = train(8000, "model=als factors=64 epochs=1 threads=1");
    assert_ok(tu_model_save_opts(m, path, MAPPABLE " quantize=fp16"));
    aisle_model_free(m);
    aisle_rec_options *o[2] = {scan_opts("int8"), scan_opts("fp32")};
    alloc_max = 0;
    assert_ok(aisle_set_allocator(max_malloc, max_realloc, max_free, NULL));
    aisle_model *mm;
    int rc = tu_model_load_opts(&mm, path, "mmap=true mmap_verify=none");
    const char *items[K];
    float scores[K], score;
    size_t n;
    const char *session[2] = {"item3", "item9"};
    for (int v = 0; !rc && v < 2; v++) rc = aisle_recommend(mm, "user5", K, o[v], items, scores, &n);
    if (!rc) rc = aisle_similar_items(mm, "item5", K, NULL, items, scores, &n);
    if (!rc) rc = aisle_recommend_for_items(mm, session, NULL, 2, K, NULL, items, scores, &n);
    if (!rc) rc = aisle_score(mm, "user5", "item5", &score);
    aisle_model_free(rc ? NULL : mm);
    assert_ok(aisle_set_allocator(NULL, NULL, NULL, NULL));
    assert_ok(rc);
    print_message("largest allocation while opening and serving a mapped fp16 8000 x 64 model: %zu bytes\n",
                  alloc_max);
    assert_true(alloc_max < (size_t)8000 * 64 * sizeof(float) / 4);
    aisle_rec_options_free(o[0]);
    aisle_rec_options_free(o[1]);
}

/* Readers serve a mapped fp16 model through a server while a writer
 * updates users (each written row goes to the side's overlay under the
 * write lock), adds a user and an item and updates again: no reader fails,
 * and the final lists equal an ordinary load given the same calls (run
 * under TSan by `make check-tsan`). */
typedef struct f16_reader {
    aisle_server *srv;
    atomic_int *stop;
    int failures, rounds;
} f16_reader;

static void *f16_read(void *p) {
    f16_reader *r = p;
    const char *items[K];
    float scores[K];
    size_t n;
    char key[32];
    while (!atomic_load(r->stop) || r->rounds < 2) {
        const aisle_model *m;
        if (aisle_server_acquire(r->srv, &m) != AISLE_OK) {
            r->failures++;
            break;
        }
        for (uint32_t u = 0; u < N_USERS; u += 7) {
            snprintf(key, sizeof key, "user%u", u);
            if (aisle_recommend(m, key, K, NULL, items, scores, &n) != AISLE_OK || n != K) r->failures++;
        }
        if (aisle_similar_items(m, "item3", K, NULL, items, scores, &n) != AISLE_OK) r->failures++;
        aisle_server_release(r->srv, m);
        r->rounds++;
    }
    return NULL;
}

static void test_readers_and_a_writer_on_a_mapped_fp16_model(void **state) {
    (void)state;
    char path[600];
    scratch_file(path, "mmap_f16_threads", "m.aisle");
    aisle_model *m = train(4500, "model=als factors=16 epochs=1 threads=1");
    assert_ok(tu_model_save_opts(m, path, "compression=0 quantize=fp16 store_int8=true"));
    aisle_model_free(m);
    uint64_t before = file_hash(path);
    aisle_model *a, *b;
    assert_ok(aisle_model_load(&a, path, NULL));
    assert_ok(tu_model_load_opts(&b, path, "mmap=true"));
    aisle_server *sa, *sb;
    assert_ok(aisle_server_new(&sa, a));
    assert_ok(aisle_server_new(&sb, b));
    atomic_int stop = 0;
    pthread_t t[4];
    f16_reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (f16_reader){sb, &stop, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, f16_read, &r[i]), 0);
    }
    const char *items[3] = {"item3", "item40", "item77"};
    const float w[3] = {2, 1, 3};
    char key[32];
    aisle_server *both[2] = {sb, sa}; /* the mapped one first, while the readers run */
    for (int s = 0; s < 2; s++) {
        for (uint32_t u = 0; u < N_USERS; u += 9) {
            snprintf(key, sizeof key, "user%u", u);
            assert_ok(aisle_server_update_user(both[s], key, items, w, 1 + u % 3));
        }
        assert_ok(aisle_server_add_user(both[s], "newcomer", items, w, 3));
        float v[16];
        for (int c = 0; c < 16; c++) v[c] = 0.125f * (float)(c % 5) - 0.25f;
        assert_ok(aisle_server_add_item(both[s], "brand-new", v, 16));
        assert_ok(aisle_server_update_user(both[s], "user3", items, w, 2));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].failures, 0);
    }
    assert_servers_serve_the_same(sa, sb, "newcomer");
    aisle_server_free(sa);
    aisle_server_free(sb);
    assert_int_equal(file_hash(path), before);
}

/* ---- writes to a mapped fp16 model (docs/SERVING.md, "A write to a
 * mapped fp16 model") ---- */

/* The overlay by itself: rows written over three of four pages of file
 * rows (more than a chunk of them, some twice) and rows added after them
 * read back as written through every block shape (a block inside a page,
 * across pages, across the end of the file's rows, single rows), the
 * untouched page keeps no slot page, and the merged side is the written
 * matrix. */
static void test_fp16_overlay_rows_read_back_as_written(void **state) {
    (void)state;
    enum { ROWS = 3 * MODEL_F16_PAGE + 100, ADDED = 40, D = 5 };
    uint16_t *h = malloc((size_t)ROWS * D * sizeof *h);
    float *want = malloc((size_t)(ROWS + ADDED) * D * sizeof *want), *tmp = malloc(1000 * D * sizeof *tmp);
    assert_true(h && want && tmp);
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (size_t k = 0; k < (size_t)ROWS * D; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        h[k] = (uint16_t)(r & 0x7bff) | (uint16_t)(r >> 63 << 15);
        want[k] = io_f16_to_f32(h[k]);
    }
    model_factors f;
    memset(&f, 0, sizeof f);
    f.dim = D, f.user16 = h, f.f16[MODEL_SIDE_USERS].n16 = ROWS;
    size_t distinct = 0;
    for (size_t k = 0; k < 700; k++) {
        size_t row = (k * 7919) % ROWS;
        if (row / MODEL_F16_PAGE == 1) continue; /* page 1 stays the file's */
        float *w;
        bool fresh = model_f16_written(&f.f16[MODEL_SIDE_USERS], row, D) == NULL;
        distinct += fresh;
        assert_ok(model_factors_row_w(&f, MODEL_SIDE_USERS, row, &w));
        assert_memory_equal(w, want + row * D, D * sizeof *w); /* made holding the file's row */
        for (int c = 0; c < D; c++) w[c] = want[row * D + c] = (float)k + 0.25f * (float)c;
    }
    assert_true(distinct > MODEL_F16_CHUNK);
    assert_int_equal(f.f16[MODEL_SIDE_USERS].written, distinct);
    assert_null(f.f16[MODEL_SIDE_USERS].page[1]);
    assert_ok(model_f16_reserve(&f, MODEL_SIDE_USERS, ROWS + ADDED / 2));
    assert_ok(model_f16_reserve(&f, MODEL_SIDE_USERS, ROWS + ADDED)); /* grown again: the first half kept */
    for (size_t row = ROWS; row < ROWS + ADDED; row++) {
        float *w;
        assert_ok(model_factors_row_w(&f, MODEL_SIDE_USERS, row, &w));
        for (int c = 0; c < D; c++) w[c] = want[row * D + c] = -(float)row - 0.5f * (float)c;
    }
    const size_t firsts[] = {0, 1, MODEL_F16_PAGE - 3, MODEL_F16_PAGE, 2 * MODEL_F16_PAGE - 500, ROWS - 7, ROWS - 1,
                             ROWS, ROWS + 3};
    const size_t lens[] = {1, 2, 64, 819, 1000};
    for (size_t a = 0; a < sizeof firsts / sizeof *firsts; a++)
        for (size_t b = 0; b < sizeof lens / sizeof *lens; b++) {
            size_t first = firsts[a], n = CORE_MIN(lens[b], ROWS + ADDED - first);
            const float *got = model_factors_rows(&f, MODEL_SIDE_USERS, first, n, tmp);
            if (memcmp(got, want + first * D, n * D * sizeof *got) != 0)
                fail_msg("rows %zu..%zu differ from the written matrix", first, first + n);
        }
    const float *all;
    float *owned;
    assert_ok(model_factors_side_fp32(&f, MODEL_SIDE_USERS, ROWS + ADDED, &all, &owned));
    assert_memory_equal(all, want, (size_t)(ROWS + ADDED) * D * sizeof *all);
    core_free(owned);
    model_factors_free(&f); /* frees the overlay, not the file's rows */
    free(h), free(want), free(tmp);
}

/* The writes a server takes, the same on both models: users updated (one
 * twice), an item added and a user added and updated where the kind takes
 * them; the statuses (mf adds no items, hybrid neither items nor users
 * without a catalog) must agree between the two models. */
enum { JOINERS = 40 };
static void apply_writes(aisle_server *s, uint32_t dim, int *added_item, int *added_user) {
    const char *items[4] = {"item3", "item40", "item77", "item4101"};
    const float w[4] = {5, 1, 4, 2};
    assert_ok(aisle_server_update_user(s, "user7", items, w, 3));
    assert_ok(aisle_server_update_user(s, "user8", items + 1, w, 3));
    assert_ok(aisle_server_update_user(s, "user7", items + 2, NULL, 2)); /* a written row written again */
    assert_ok(aisle_server_update_user(s, "user119", items, w, 4));
    float v[16];
    for (uint32_t c = 0; c < dim && c < 16; c++) v[c] = 0.5f - 0.125f * (float)(c % 7);
    *added_item = aisle_server_add_item(s, "brand-new", v, dim);
    const char *with_new[2] = {"brand-new", "item9"};
    *added_user = aisle_server_add_user(s, "newcomer", *added_item ? items : with_new, NULL, 2);
    if (*added_user) return;
    assert_ok(aisle_server_update_user(s, "newcomer", items, w, 4));
    /* more added users than a key table's first 64 slots hold at half
     * load: a mapped dictionary's own part grows past its first rehash */
    char key[32];
    for (int k = 0; k < JOINERS; k++) {
        snprintf(key, sizeof key, "joiner%d", k);
        assert_ok(aisle_server_add_user(s, key, items + k % 3, NULL, 1));
    }
}

/* Every kind that maps, every fp16 layout: after the same writes, the
 * mapped model serves exactly what the fp32 load of the same file serves
 * (every read path: assert_same_serving), describe counts the rows
 * written, saving it writes the same bytes as saving the fp32 load (the
 * merged rows), and the file never changes. */
static void test_writes_to_a_mapped_fp16_model_serve_what_the_fp32_load_serves(void **state) {
    (void)state;
    char path[600], out_a[600], out_b[600];
    scratch_file(path, "mmap_f16_writes", "m.aisle");
    sibling(out_a, path, "a.aisle");
    sibling(out_b, path, "b.aisle");
    for (size_t k = 0; k < sizeof factor_kinds / sizeof *factor_kinds; k++) {
        aisle_model *m = train(4500, factor_kinds[k]);
        for (int s = 0; s < 3; s++) {
            assert_ok(tu_model_save_opts(m, path, f16_saves[s]));
            uint64_t before = file_hash(path);
            aisle_model *a, *b;
            assert_ok(aisle_model_load(&a, path, NULL)); /* decoded to fp32 */
            assert_ok(tu_model_load_opts(&b, path, map_modes[s % 2]));
            const float *data;
            size_t rows, dim;
            assert_ok(aisle_model_factors(a, AISLE_FACTORS_ITEMS, &data, &rows, &dim));
            aisle_server *sa, *sb;
            assert_ok(aisle_server_new(&sa, a));
            assert_ok(aisle_server_new(&sb, b));
            int added_a, added_b, user_a, user_b;
            apply_writes(sa, (uint32_t)dim, &added_a, &user_a);
            apply_writes(sb, (uint32_t)dim, &added_b, &user_b);
            assert_int_equal(added_a, added_b);
            assert_int_equal(user_a, user_b);
            assert_servers_serve_the_same(sa, sb, user_b ? NULL : "newcomer");
            const aisle_model *la, *lb;
            assert_ok(aisle_server_acquire(sa, &la));
            assert_ok(aisle_server_acquire(sb, &lb));
            char text[4096], want[128];
            assert_ok(aisle_model_describe(lb, text, sizeof text, NULL));
            snprintf(want, sizeof want, "users 3 updated, %d added; items %d added", user_b ? 0 : 1 + JOINERS,
                     added_b ? 0 : 1);
            if (!strstr(text, want)) fail_msg("%s: describe lacks '%s':\n%s", factor_kinds[k], want, text);
            if (!added_b) { /* the added item's neighbours */
                const char *ia[K], *ib[K];
                float fa[K], fb[K];
                size_t na, nb;
                assert_ok(aisle_similar_items(la, "brand-new", K, NULL, ia, fa, &na));
                assert_ok(aisle_similar_items(lb, "brand-new", K, NULL, ib, fb, &nb));
                assert_same_list(ia, fa, na, ib, fb, nb, "similar", "brand-new");
            }
            const char *save_as[2] = {f16_saves[s], "compression=0 store_int8=true"};
            for (int o = 0; o < 2; o++) {
                assert_ok(tu_model_save_opts(la, out_a, save_as[o]));
                assert_ok(tu_model_save_opts(lb, out_b, save_as[o]));
                size_t len_a, len_b;
                uint8_t *img_a = read_all(out_a, &len_a), *img_b = read_all(out_b, &len_b);
                if (len_a != len_b || memcmp(img_a, img_b, len_a) != 0)
                    fail_msg("%s, %s: saved after the writes, the mapped model's file differs from the fp32 load's",
                             factor_kinds[k], save_as[o]);
                free(img_a), free(img_b);
            }
            assert_ok(aisle_server_release(sa, la));
            assert_ok(aisle_server_release(sb, lb));
            aisle_server_free(sa);
            aisle_server_free(sb);
            assert_int_equal(file_hash(path), before);
        }
        aisle_model_free(m);
    }
}

/* The first write's cost does not grow with the side: updating users of
 * a mapped fp16 model of 20000 users, adding an item and adding a user
 * never allocates a 32nd of the user matrix in fp32 (80 kB: pages of the
 * history and factor overlays, a chunk of rows, the key dictionary's own
 * part).  Before the overlay, the first update widened the whole side
 * (2.56 MB here), a history row table of every user (160 kB) also failed
 * this, and so did copying the mapped user dictionary on the first added
 * user (its 256 kB hash table, 160 kB of offsets) and, for mf, its user
 * biases (80 kB). */
static void test_a_first_write_to_a_mapped_fp16_model_allocates_rows_not_the_side(void **state) {
    (void)state;
    enum { USERS = 20000, DIM = 32 };
    /* als; mf (explicit: user biases in the file, 80 kB here, which an
     * added user used to copy out of the mapping; mf adds no items) */
    static const char *const kinds[2] = {"model=als factors=32 epochs=1 threads=1",
                                         "model=mf factors=32 epochs=1 threads=1"};
    char path[600], u[32], it[32];
    scratch_file(path, "mmap_f16_first_write", "m.aisle");
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (uint32_t e = 0; e < 2 * USERS; e++) {
        snprintf(u, sizeof u, "user%u", e % USERS);
        snprintf(it, sizeof it, "item%u", (e * 2654435761u) % 500);
        assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1 + (float)(e % 5), 0));
    }
    for (int k = 0; k < 2; k++) {
        aisle_model *m = tu_train(ds, kinds[k]);
        assert_ok(tu_model_save_opts(m, path, MAPPABLE " quantize=fp16"));
        aisle_model_free(m);
        aisle_model *mm;
        assert_ok(tu_model_load_opts(&mm, path, "mmap=true mmap_verify=none"));
        const char *items[3] = {"item3", "item9", "item27"};
        float v[DIM] = {0.5f, -0.25f};
        alloc_max = 0;
        assert_ok(aisle_set_allocator(max_malloc, max_realloc, max_free, NULL));
        int rc = AISLE_OK;
        for (uint32_t n = 0; !rc && n < 300; n++) { /* users on every page of the side */
            snprintf(u, sizeof u, "user%u", (n * 7919) % USERS);
            rc = aisle_update_user(mm, u, items, NULL, 3);
        }
        aisle_server *srv = NULL;
        if (!rc) rc = aisle_server_new(&srv, mm);
        if (!rc && k == 0) rc = aisle_server_add_item(srv, "brand-new", v, DIM);
        if (!rc) rc = aisle_server_add_user(srv, "newcomer", items, NULL, 3);
        assert_ok(aisle_set_allocator(NULL, NULL, NULL, NULL));
        assert_ok(rc);
        print_message("%s: largest allocation while updating 300 users of a mapped fp16 %u x %u model, adding %sa "
                      "user: %zu bytes (user matrix in fp32: %zu)\n", kinds[k], USERS, DIM,
                      k == 0 ? "an item and " : "", alloc_max, (size_t)USERS * DIM * 4);
        assert_true(alloc_max < (size_t)USERS * DIM * sizeof(float) / 32);
        aisle_server_free(srv);
    }
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapped_model_serves_what_a_loaded_model_serves),
        cmocka_unit_test(test_files_that_cannot_be_mapped_are_refused_with_a_reason),
        cmocka_unit_test(test_truncated_and_corrupt_mapped_files_give_errors),
        cmocka_unit_test(test_mappable_tables_are_checked_behind_the_crc),
        cmocka_unit_test(test_update_user_on_a_mapped_model_copies_pages_not_the_file),
        cmocka_unit_test(test_users_and_items_added_to_a_served_mapped_model),
        cmocka_unit_test(test_two_handles_and_a_forked_child_share_pages),
        cmocka_unit_test(test_eight_threads_recommend_from_one_mapped_model),
        cmocka_unit_test(test_fp16_widening_and_dot_products_are_exact),
        cmocka_unit_test(test_mapped_fp16_model_serves_what_its_ordinary_load_serves),
        cmocka_unit_test(test_mapped_fp16_model_breaks_ties_as_an_ordinary_load),
        cmocka_unit_test(test_mapped_fp16_rows_are_widened_as_read_not_copied),
        cmocka_unit_test(test_readers_and_a_writer_on_a_mapped_fp16_model),
        cmocka_unit_test(test_fp16_overlay_rows_read_back_as_written),
        cmocka_unit_test(test_writes_to_a_mapped_fp16_model_serve_what_the_fp32_load_serves),
        cmocka_unit_test(test_a_first_write_to_a_mapped_fp16_model_allocates_rows_not_the_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
