/* bert_util.c - see bert_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bert_util.h"
#include "util/test_util.h"

const char *const tu_keyword_labels[3] = {"pos", "price", "greet"};
const char *const tu_keyword_words[3] = {"great", "costs", "hello"};
static const char *const fill[] = {"run", "shop", "the", "paris", "cafe", "jackets", "total", "known", "here", "and"};

void tu_bert_encoder_file(char *path, size_t len, const char *name) {
    char dir[1100], src[1100];
    tu_tmpdir(dir, sizeof dir, name);
    snprintf(src, sizeof src, "%s/tests/bert/data/cls", tu_srcdir());
    snprintf(path, len, "%s/encoder.aisle", dir);
    aisle_bert *b;
    assert_ok(aisle_bert_import(&b, src, NULL));
    assert_ok(aisle_bert_save(b, path, NULL));
    aisle_bert_free(b);
}

/* Reads src/NAME whole (fails the test on error); *len its size. */
static char *slurp(const char *dir, const char *name, size_t *len) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spill(const char *dir, const char *name, const char *b, size_t len) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Replaces every `from` in the first n bytes of b by `to` (same length). */
static void rename_all(char *b, size_t n, const char *from, const char *to) {
    size_t k = strlen(from);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, from, k)) memcpy(b + i, to, k);
}

void tu_bert_encoder_file_no_pooler(char *path, size_t len, const char *name) {
    char dir[1100], src[1100];
    tu_tmpdir(dir, sizeof dir, name);
    snprintf(src, sizeof src, "%s/tests/bert/data/cls", tu_srcdir());
    static const char *const copy[] = {"config.json", "vocab.txt"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        char *b = slurp(src, copy[i], &n);
        spill(dir, copy[i], b, n);
        free(b);
    }
    size_t n;
    char *st = slurp(src, "model.safetensors", &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | (unsigned char)st[i];
    assert_true(8 + hlen <= n);
    rename_all(st + 8, (size_t)hlen, "pooler", "poolex");
    rename_all(st + 8, (size_t)hlen, "classifier", "classifiex");
    spill(dir, "model.safetensors", st, n);
    free(st);
    snprintf(path, len, "%s/nopool.aisle", dir);
    aisle_bert *b;
    assert_ok(aisle_bert_import(&b, dir, NULL));
    assert_ok(aisle_bert_save(b, path, NULL));
    aisle_bert_free(b);
}

void tu_bert_pair_options(char *out, size_t len, const char *encoder, const char *extra) {
    snprintf(out, len, "model=pair encoder=\"%s\" threads=1 seed=5 recent_items=3 title_tokens=3 head_epochs=30 "
             "head_learning_rate=0.05 %s", encoder, extra ? extra : "");
}

static uint32_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

aisle_texts *tu_keyword_texts(int per_label, uint64_t seed) {
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (int i = 0; i < per_label; i++)
        for (int l = 0; l < 3; l++) {
            char buf[256];
            size_t o = 0;
            int n = 2 + (int)(next(&seed) % 4), at = (int)(next(&seed) % (uint32_t)(n + 1));
            for (int w = 0; w <= n; w++) {
                const char *word = w == at ? tu_keyword_words[l] : fill[next(&seed) % 10];
                o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", w ? " " : "", word);
            }
            assert_ok(aisle_texts_add(t, buf, AISLE_NUL_TERMINATED, tu_keyword_labels[l]));
        }
    return t;
}

void tu_bert_intent_options(char *out, size_t len, const char *encoder, const char *extra) {
    snprintf(out, len, "architecture=bert encoder=\"%s\" threads=1 head_epochs=40 head_learning_rate=0.05 %s", encoder,
             extra ? extra : "");
}
