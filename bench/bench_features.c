/* bench_features.c - throughput of the tokenizer, the hashing vectorizer
 * and TF-IDF transform on synthetic mixed Latin / Cyrillic / CJK product
 * titles (well under 1 s of CPU in all; rates are per CPU second).  Uses only the public header. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aisle.h"

/* CPU time of this thread: the shared development machine is often
 * overloaded, which makes wall-clock rates meaningless there. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int count_tok(void *user, const char *t, size_t len, int kind) {
    (void)t, (void)len, (void)kind;
    ++*(size_t *)user;
    return 0;
}

int main(void) {
    static const char *const parts[] = {"Wireless", "Bluetooth", "Headphones", "2.4GHz", "无线蓝牙耳机", "USB-C",
                                        "Kabel", "Größe", "XL", "Беспроводные", "наушники", "iPhone", "15",
                                        "保护壳", "noise", "cancelling", "Straße", "ΕΛΛΗΝΙΚΑ"};
    enum { NTEXT = 2000 };
    static char texts[NTEXT][160];
    const char *ptr[NTEXT];
    size_t bytes = 0;
    unsigned x = 12345;
    for (int i = 0; i < NTEXT; i++) {
        size_t o = 0;
        for (int w = 0; w < 8; w++) {
            x = x * 1103515245u + 12345u;
            const char *p = parts[(x >> 16) % (sizeof parts / sizeof *parts)];
            o += (size_t)snprintf(texts[i] + o, sizeof texts[i] - o, "%s%s", w ? " " : "", p);
        }
        ptr[i] = texts[i];
        bytes += o;
    }
    aisle_config *cfg;
    aisle_tokenizer *tok;
    aisle_hasher *h;
    aisle_tfidf *tf;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "word_ngrams=2 char_ngram_min=3 char_ngram_max=5") ||
        aisle_tokenizer_new(&tok, cfg) || aisle_hasher_new(&h, cfg) || aisle_tfidf_new(&tf, cfg)) {
        fprintf(stderr, "setup: %s\n", aisle_last_error());
        return 1;
    }
    const int reps = 20;
    size_t ntok = 0;
    double t0 = now();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < NTEXT; i++) aisle_tokenizer_each(tok, ptr[i], AISLE_NUL_TERMINATED, count_tok, &ntok);
    double t1 = now();
    printf("tokenize:        %.1f MB/s, %.2f M tokens/s\n", bytes * reps / (t1 - t0) / 1e6, ntok / (t1 - t0) / 1e6);
    for (int r = 0; r < reps / 4; r++)
        for (int i = 0; i < NTEXT; i++) {
            aisle_sparse *v;
            if (aisle_hasher_transform(h, ptr[i], AISLE_NUL_TERMINATED, &v)) return 1;
            aisle_sparse_free(v);
        }
    double t2 = now();
    printf("hasher (1+2-grams, char 3-5): %.0f titles/s\n", NTEXT * (reps / 4) / (t2 - t1));
    if (aisle_tfidf_fit(tf, ptr, NTEXT)) return 1;
    double t3 = now();
    for (int r = 0; r < reps / 4; r++)
        for (int i = 0; i < NTEXT; i++) {
            aisle_sparse *v;
            if (aisle_tfidf_transform(tf, ptr[i], AISLE_NUL_TERMINATED, &v)) return 1;
            aisle_sparse_free(v);
        }
    double t4 = now();
    printf("tfidf fit:       %.0f titles/s\n", NTEXT / (t3 - t2));
    printf("tfidf transform: %.0f titles/s\n", NTEXT * (reps / 4) / (t4 - t3));
    aisle_tfidf_free(tf);
    aisle_hasher_free(h);
    aisle_tokenizer_free(tok);
    aisle_config_free(cfg);
    return 0;
}
