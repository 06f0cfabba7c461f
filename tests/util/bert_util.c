/* bert_util.c - see bert_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

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
