/* test_features.c - tokenizer (English, German, Russian, Greek, Chinese,
 * Japanese, Korean, invalid UTF-8), MurmurHash3 test vectors, n-grams,
 * feature hashing, sparse vectors, TF-IDF/BM25 against hand-computed
 * values, categorical and numeric encoders, allocation failures. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"
#include "util/test_util.h"

/* ---- helpers ---- */

/* Joins a token list with '|'. */
static void join_tokens(const aisle_tokens *t, char *out, size_t cap) {
    size_t n, o = 0;
    assert_ok(aisle_tokens_count(t, &n));
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        assert_ok(aisle_tokens_get(t, i, &s, &len));
        assert_int_equal(strlen(s), len);
        int w = snprintf(out + o, cap - o, "%s%s", i ? "|" : "", s);
        assert_true(w >= 0 && (size_t)w < cap - o);
        o += (size_t)w;
    }
}

/* Tokenizes len bytes copied into an exact-size heap buffer (no NUL after
 * it, so ASan catches any read past the end) and returns the joined
 * tokens in out. */
static void tokenize_exact(const aisle_tokenizer *tok, const char *text, size_t len, char *out, size_t cap) {
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    aisle_tokens *t;
    assert_ok(aisle_tokenizer_tokenize(tok, copy, len, &t));
    free(copy);
    join_tokens(t, out, cap);
    aisle_tokens_free(t);
}

static void expect_tokens_cfg(const char *options, const char *text, const char *expect) {
    aisle_config *cfg = NULL;
    if (options) {
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_parse(cfg, options));
    }
    aisle_tokenizer *tok;
    assert_ok(aisle_tokenizer_new(&tok, cfg));
    char got[2048];
    tokenize_exact(tok, text, strlen(text), got, sizeof got);
    if (strcmp(got, expect) != 0) fail_msg("tokens of '%s' (%s):\n got    '%s'\n expect '%s'", text,
                                           options ? options : "defaults", got, expect);
    aisle_tokenizer_free(tok);
    aisle_config_free(cfg);
}

static void expect_tokens(const char *text, const char *expect) { expect_tokens_cfg(NULL, text, expect); }

/* ---- hashing ---- */

typedef struct hash_vec {
    const char *data;
    size_t len;
    uint32_t seed, expect;
} hash_vec;

/* Published MurmurHash3_x86_32 test vectors (results of the reference
 * MurmurHash3.cpp, as collected e.g. in the widely cited list by Ian Boyd;
 * docs/FEATURES.md lists them). */
static void test_hash32_matches_published_vectors(void **state) {
    (void)state;
    const hash_vec v[] = {
        {"", 0, 0, 0},
        {"", 0, 1, 0x514E28B7u},
        {"", 0, 0xffffffffu, 0x81F16F39u},
        {"\xff\xff\xff\xff", 4, 0, 0x76293B50u},
        {"\x21\x43\x65\x87", 4, 0, 0xF55B516Bu},
        {"\x21\x43\x65\x87", 4, 0x5082EDEEu, 0x2362F9DEu},
        {"\x21\x43\x65", 3, 0, 0x7E4A8634u},
        {"\x21\x43", 2, 0, 0xA0F7B07Au},
        {"\x21", 1, 0, 0x72661CF4u},
        {"\0\0\0\0", 4, 0, 0x2362F9DEu},
        {"\0\0\0", 3, 0, 0x85F0B427u},
        {"\0\0", 2, 0, 0x30F4C306u},
        {"\0", 1, 0, 0x514E28B7u},
        {"aaaa", 4, 0x9747b28cu, 0x5A97808Au},
        {"aaa", 3, 0x9747b28cu, 0x283E0130u},
        {"aa", 2, 0x9747b28cu, 0x5D211726u},
        {"a", 1, 0x9747b28cu, 0x7FA09EA6u},
        {"abcd", 4, 0x9747b28cu, 0xF0478627u},
        {"abc", 3, 0x9747b28cu, 0xC84A62DDu},
        {"ab", 2, 0x9747b28cu, 0x74875592u},
        {"Hello, world!", 13, 0x9747b28cu, 0x24884CBAu},
        {"The quick brown fox jumps over the lazy dog", 43, 0x9747b28cu, 0x2FA826CDu},
    };
    for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++) {
        uint32_t h;
        assert_ok(aisle_hash32(v[i].data, v[i].len, v[i].seed, &h));
        if (h != v[i].expect) fail_msg("vector %zu: got 0x%08X, expected 0x%08X", i, h, v[i].expect);
    }
    uint32_t h;
    assert_int_equal(aisle_hash32(NULL, 1, 0, &h), AISLE_EINVAL);
    assert_ok(aisle_hash32(NULL, 0, 1, &h));
    assert_int_equal(h, 0x514E28B7u);
}

/* SMHasher's VerificationTest: hash keys {0}, {0,1}, ..., {0..254} with
 * seed 256-n, hash the 256 results (little-endian) with seed 0; the
 * reference value for MurmurHash3_x86_32 is 0xB0F57EE3. */
static void test_hash32_passes_smhasher_verification(void **state) {
    (void)state;
    unsigned char key[256], hashes[256 * 4];
    for (int i = 0; i < 256; i++) {
        key[i] = (unsigned char)i;
        uint32_t h = feat_hash32(key, (size_t)i, 256u - (uint32_t)i);
        for (int b = 0; b < 4; b++) hashes[i * 4 + b] = (unsigned char)(h >> (8 * b));
    }
    assert_int_equal(feat_hash32(hashes, sizeof hashes, 0), 0xB0F57EE3u);
}

static void test_hash_tokens_uses_default_tokenizer(void **state) {
    (void)state;
    const char *text = "Wireless Headphones 无线耳机 2.4GHz";
    const char *expect[] = {"wireless", "headphones", "无", "线", "耳", "机", "无线", "线耳", "耳机", "2.4ghz"};
    uint32_t out[16];
    size_t n;
    assert_ok(feat_hash_tokens(text, strlen(text), 1000, out, 16, &n));
    assert_int_equal(n, CORE_ARRAY_LEN(expect));
    for (size_t i = 0; i < n; i++) assert_int_equal(out[i], feat_hash32(expect[i], strlen(expect[i]), 0) % 1000);
    /* fewer slots than tokens: count still complete, no overrun */
    uint32_t small[3] = {7, 7, 7};
    assert_ok(feat_hash_tokens(text, strlen(text), 1000, small, 2, &n));
    assert_int_equal(n, CORE_ARRAY_LEN(expect));
    assert_int_equal(small[0], out[0]);
    assert_int_equal(small[2], 7);
    assert_int_equal(feat_hash_tokens(text, strlen(text), 0, out, 16, &n), AISLE_EINVAL);
    assert_ok(feat_hash_tokens(NULL, 0, 10, NULL, 0, &n));
    assert_int_equal(n, 0);
}

/* ---- tokenizer ---- */

static void test_tokenizer_english_punctuation_and_numbers(void **state) {
    (void)state;
    expect_tokens("The Quick, brown fox's 2.4GHz Wi-Fi router (v1.2.3) costs $1,299.00!",
                  "the|quick|brown|fox|s|2.4ghz|wi|fi|router|v1.2.3|costs|1,299.00");
    expect_tokens("  end. 1. 2..3 ,5 7,", "end|1|2|3|5|7");
    expect_tokens("", "");
    expect_tokens(" \t\n.,;", "");
    expect_tokens("❤️ love 👍 it™", "love|it");
}

static void test_tokenizer_lowercases_german_and_latin_extended(void **state) {
    (void)state;
    expect_tokens("ÄÖÜ Straße GRÜßE GROẞ", "äöü|straße|grüße|groß");
    expect_tokens("ŁÓDŹ ČESKÝ İstanbul ŒUVRE Ÿ", "łódź|český|istanbul|œuvre|ÿ");
    expect_tokens("3×4 ÷", "3|4");
    /* Latin Extended-B: Romanian comma below, pinyin carons, digraphs, and
     * Ⱥ whose lower case ⱥ (U+2C65) needs one byte more */
    expect_tokens("ȘTIINȚĂ NǙ ǅ ȺB", "știință|nǚ|ǆ|ⱥb");
    expect_tokens_cfg("lowercase=false", "ÄÖÜ Straße", "ÄÖÜ|Straße");
}

static void test_tokenizer_lowercases_russian_and_greek(void **state) {
    (void)state;
    expect_tokens("Беспроводные НАУШНИКИ, Ёлка ЯБЛОКО", "беспроводные|наушники|ёлка|яблоко");
    expect_tokens("ΕΛΛΗΝΙΚΆ Ωμέγα ΣΟΦΟΣ ΆΈΉΊΌΎΏ", "ελληνικά|ωμέγα|σοφοσ|άέήίόύώ");
}

static void test_tokenizer_cjk_unigrams_and_bigrams(void **state) {
    (void)state;
    expect_tokens("无线蓝牙耳机", "无|线|蓝|牙|耳|机|无线|线蓝|蓝牙|牙耳|耳机");
    expect_tokens("iPhone 15 保护壳", "iphone|15|保|护|壳|保护|护壳");
    expect_tokens("蓝牙5.0耳机，黑色", "蓝|牙|蓝牙|5.0|耳|机|耳机|黑|色|黑色");
    expect_tokens("ワイヤレス", "ワ|イ|ヤ|レ|ス|ワイ|イヤ|ヤレ|レス");
    expect_tokens("무선 이어폰", "무|선|무선|이|어|폰|이어|어폰");
    expect_tokens("ｉＰｈｏｎｅ１５　壳", "iphone15|壳");
    expect_tokens_cfg("cjk_bigrams=false", "无线蓝牙", "无|线|蓝|牙");
}

static void test_tokenizer_stop_words_and_min_length(void **state) {
    (void)state;
    expect_tokens_cfg("stop_words=_english_", "The case for the iPhone", "case|iphone");
    expect_tokens_cfg("stop_words=\"_english_, CASE 的\"", "The case of the phone 的 手机", "phone|手|机|手机");
    expect_tokens_cfg("min_token_len=3", "a usb c to 3.5mm 线", "usb|3.5mm|线");
    aisle_tokenizer *tok;
    assert_ok(aisle_tokenizer_new(&tok, NULL));
    const char *words[] = {"Für", "ÜBER"};
    assert_ok(aisle_tokenizer_add_stop_words(tok, words, 2));
    char got[256];
    tokenize_exact(tok, "Hülle für über iPhone", strlen("Hülle für über iPhone"), got, sizeof got);
    assert_string_equal(got, "hülle|iphone");
    const char *bad[] = {"ok", "\xff"};
    assert_status_msg(aisle_tokenizer_add_stop_words(tok, bad, 2), AISLE_EINVAL, "invalid UTF-8");
    tokenize_exact(tok, "ok", 2, got, sizeof got); /* all or nothing: "ok" not added */
    assert_string_equal(got, "ok");
    aisle_tokenizer_free(tok);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_int_equal(aisle_config_set_int(cfg, "min_token_len", 0), AISLE_ERANGE);
    assert_ok(aisle_config_set(cfg, "stop_words", "ok,\xc3"));
    assert_status_msg(aisle_tokenizer_new(&tok, cfg), AISLE_EINVAL, "stop_words");
    aisle_config_free(cfg);
}

static void test_tokenizer_invalid_utf8_is_skipped(void **state) {
    (void)state;
    aisle_tokenizer *tok;
    assert_ok(aisle_tokenizer_new(&tok, NULL));
    char got[512];
    const struct {
        const char *text;
        size_t len;
        const char *expect;
    } cases[] = {
        {"abc\xff" "def", 7, "abc|def"},
        {"abc\xc3", 4, "abc"},                  /* truncated 2-byte sequence at the end */
        {"abc\xe6\x97", 5, "abc"},              /* truncated CJK character at the end */
        {"\xe6\x97\xa0\xe6\x97", 5, "无"},      /* 无 then a cut one */
        {"\xc0\xaf" "x", 3, "x"},               /* overlong '/' */
        {"\xed\xa0\x80" "y", 4, "y"},           /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80" "z", 5, "z"},       /* above U+10FFFF */
        {"\x80\x80\xbf", 3, ""},                /* stray continuation bytes */
        {"ab\0cd", 5, "ab|cd"},                 /* embedded NUL separates */
        {"\xe6\x97\xa0\xff\xe7\xba\xbf", 7, "无|线"}, /* invalid byte breaks a CJK run */
    };
    for (size_t i = 0; i < CORE_ARRAY_LEN(cases); i++) {
        tokenize_exact(tok, cases[i].text, cases[i].len, got, sizeof got);
        if (strcmp(got, cases[i].expect)) fail_msg("case %zu: got '%s', expected '%s'", i, got, cases[i].expect);
    }
    /* NUL-terminated convention */
    aisle_tokens *t;
    assert_ok(aisle_tokenizer_tokenize(tok, "Hello World", AISLE_NUL_TERMINATED, &t));
    join_tokens(t, got, sizeof got);
    assert_string_equal(got, "hello|world");
    const char *s;
    assert_int_equal(aisle_tokens_get(t, 2, &s, NULL), AISLE_ERANGE);
    aisle_tokens_free(t);
    assert_int_equal(aisle_tokenizer_tokenize(tok, NULL, 3, &t), AISLE_EINVAL);
    /* random bytes: never crashes, reads nothing past the buffer, every
     * token is non-empty valid UTF-8 */
    core_rng r;
    rng_seed(&r, 7);
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = (size_t)rng_below(&r, 24);
        unsigned char *buf = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            uint64_t x = rng_below(&r, 4);
            buf[i] = x == 0 ? (unsigned char)rng_below(&r, 256) : x == 1 ? (unsigned char)(0x80 | rng_below(&r, 64))
                   : x == 2 ? (unsigned char)(0xC2 + rng_below(&r, 0x33)) : (unsigned char)('a' + rng_below(&r, 3));
        }
        assert_ok(aisle_tokenizer_tokenize(tok, (const char *)buf, len, &t));
        size_t n;
        assert_ok(aisle_tokens_count(t, &n));
        for (size_t i = 0; i < n; i++) {
            size_t tl;
            assert_ok(aisle_tokens_get(t, i, &s, &tl));
            assert_true(tl > 0);
            for (size_t p = 0; p < tl;) {
                uint32_t cp;
                size_t k = feat_utf8_decode((const unsigned char *)s + p, tl - p, &cp);
                assert_true(k > 0);
                p += k;
            }
        }
        aisle_tokens_free(t);
        free(buf);
    }
    aisle_tokenizer_free(tok);
}

static void test_tokenizer_cuts_very_long_tokens(void **state) {
    (void)state;
    aisle_tokenizer *tok;
    assert_ok(aisle_tokenizer_new(&tok, NULL));
    char text[700];
    memset(text, 'A', 300);
    aisle_tokens *t;
    assert_ok(aisle_tokenizer_tokenize(tok, text, 300, &t));
    const char *s;
    size_t len, n;
    assert_ok(aisle_tokens_count(t, &n));
    assert_int_equal(n, 1);
    assert_ok(aisle_tokens_get(t, 0, &s, &len));
    assert_int_equal(len, FEAT_MAX_TOKEN);
    assert_int_equal(s[0], 'a');
    aisle_tokens_free(t);
    for (int i = 0; i < 300; i++) memcpy(text + 2 * i, "\xc3\x84", 2); /* Ä x 300 */
    assert_ok(aisle_tokenizer_tokenize(tok, text, 600, &t));
    assert_ok(aisle_tokens_get(t, 0, &s, &len));
    assert_int_equal(len, 254); /* cut at a character boundary */
    assert_memory_equal(s, "\xc3\xa4", 2);
    aisle_tokens_free(t);
    aisle_tokenizer_free(tok);
}

static int count_cb(void *user, const char *tok, size_t len, int kind) {
    int *c = user;
    assert_int_equal(strlen(tok), len);
    assert_true(kind >= AISLE_TOKEN_WORD && kind <= AISLE_TOKEN_CJK_BIGRAM);
    return ++*c == 3;
}

static void test_tokenizer_callback_and_kinds(void **state) {
    (void)state;
    aisle_tokenizer *tok;
    assert_ok(aisle_tokenizer_new(&tok, NULL));
    int c = 0;
    assert_status_msg(aisle_tokenizer_each(tok, "a b c d e", AISLE_NUL_TERMINATED, count_cb, &c), AISLE_ECANCELLED,
                      "'c'");
    assert_int_equal(c, 3);
    aisle_tokens *t;
    assert_ok(aisle_tokenizer_tokenize(tok, "ab 蓝牙", AISLE_NUL_TERMINATED, &t));
    int kinds[4];
    for (size_t i = 0; i < 4; i++) assert_ok(aisle_tokens_kind(t, i, &kinds[i]));
    assert_int_equal(kinds[0], AISLE_TOKEN_WORD);
    assert_int_equal(kinds[1], AISLE_TOKEN_CJK);
    assert_int_equal(kinds[2], AISLE_TOKEN_CJK);
    assert_int_equal(kinds[3], AISLE_TOKEN_CJK_BIGRAM);
    aisle_tokens_free(t);
    aisle_tokenizer_free(tok);
}

static void test_tokenize_allocation_failure(void **state) {
    (void)state;
    int succeeded = 0;
    for (uint64_t n = 1; n < 200 && !succeeded; n++) {
        tu_failalloc_install(n, 0);
        aisle_config *cfg = NULL;
        aisle_tokenizer *tok = NULL;
        aisle_tokens *t = NULL;
        int rc = aisle_config_new(&cfg);
        if (!rc) rc = aisle_config_set(cfg, "stop_words", "_english_");
        if (!rc) rc = aisle_tokenizer_new(&tok, cfg);
        if (!rc) rc = aisle_tokenizer_tokenize(tok, "The wireless 蓝牙耳机 for a phone, 17 tokens or more: a b c d e f g",
                                               AISLE_NUL_TERMINATED, &t);
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
        } else {
            succeeded = 1;
            size_t cnt;
            assert_ok(aisle_tokens_count(t, &cnt));
            assert_int_equal(cnt, 17); /* wireless, 4+3 CJK, phone 17 tokens, b..g */
        }
        aisle_tokens_free(t);
        aisle_tokenizer_free(tok);
        aisle_config_free(cfg);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
    }
    assert_true(succeeded);
}

/* ---- n-grams and hashing vectorizer ---- */

static aisle_hasher *hasher_with(const char *options) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    if (options) assert_ok(aisle_config_parse(cfg, options));
    aisle_hasher *h;
    assert_ok(aisle_hasher_new(&h, cfg));
    aisle_config_free(cfg);
    return h;
}

static void expect_features(const char *options, const char *text, const char *expect) {
    aisle_hasher *h = hasher_with(options);
    aisle_tokens *t;
    assert_ok(aisle_hasher_features(h, text, AISLE_NUL_TERMINATED, &t));
    char got[2048];
    join_tokens(t, got, sizeof got);
    if (strcmp(got, expect)) fail_msg("features of '%s' (%s):\n got    '%s'\n expect '%s'", text, options, got, expect);
    aisle_tokens_free(t);
    aisle_hasher_free(h);
}

static void test_char_ngrams_are_fasttext_style(void **state) {
    (void)state;
    /* the example of Bojanowski et al.: "where", n = 3 */
    expect_features("char_ngram_min=3 char_ngram_max=3", "where", "where|<wh|whe|her|ere|re>");
    expect_features("char_ngram_min=2 char_ngram_max=3", "Ab", "ab|<a|<ab|ab|ab>|b>");
    /* n = 1 never gives a lone '<' or '>'; characters, not bytes */
    expect_features("char_ngram_min=1 char_ngram_max=2", "ÄB", "äb|<ä|ä|äb|b|b>");
    /* CJK characters get no character n-grams */
    expect_features("char_ngram_min=2 char_ngram_max=2", "耳机", "耳|机|耳机");
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "char_ngram_min=4 char_ngram_max=3"));
    aisle_hasher *h = NULL;
    assert_status_msg(aisle_hasher_new(&h, cfg), AISLE_EINVAL, "char_ngram_max");
    assert_null(h);
    aisle_config_free(cfg);
}

static void test_word_ngrams_span_words_and_cjk(void **state) {
    (void)state;
    expect_features("word_ngrams=2", "Blue tooth 耳机 x",
                    "blue|tooth|blue tooth|耳|tooth 耳|机|耳 机|耳机|x|机 x");
    expect_features("word_ngrams=3 stop_words=_english_", "the blue tooth of the set",
                    "blue|tooth|blue tooth|set|tooth set|blue tooth set");
    expect_features("word_ngrams=1", "a b c", "a|b|c");
}

static void test_hasher_buckets_signs_and_norm(void **state) {
    (void)state;
    aisle_hasher *h = hasher_with("hash_buckets=1024 l2_normalize=false hash_seed=17");
    aisle_sparse *v;
    assert_ok(aisle_hasher_transform(h, "Red red SHOE", AISLE_NUL_TERMINATED, &v));
    uint32_t dim, ired, ishoe, x;
    assert_ok(aisle_sparse_dim(v, &dim));
    assert_int_equal(dim, 1024);
    assert_ok(aisle_hash32("red", 3, 17, &x));
    ired = x % 1024;
    assert_ok(aisle_hash32("shoe", 4, 17, &x));
    ishoe = x % 1024;
    assert_int_not_equal(ired, ishoe);
    uint32_t got;
    assert_ok(aisle_hasher_feature_index(h, "red", AISLE_NUL_TERMINATED, AISLE_TOKEN_WORD, &got, NULL));
    assert_int_equal(got, ired);
    const uint32_t *idx;
    const float *val;
    size_t nnz;
    assert_ok(aisle_sparse_data(v, &idx, &val, &nnz));
    assert_int_equal(nnz, 2);
    for (size_t i = 0; i < nnz; i++) assert_float_equal(val[i], idx[i] == ired ? 2.0 : 1.0, 0);
    assert_true(idx[0] < idx[1]);
    aisle_sparse_free(v);
    aisle_hasher_free(h);

    /* signed hashing: each value's sign is bit 31 of its hash; normalized */
    h = hasher_with("hash_buckets=64 signed_hash=true char_ngram_min=3 char_ngram_max=4");
    const char *text = "wireless bluetooth headphones with noise cancelling";
    assert_ok(aisle_hasher_transform(h, text, AISLE_NUL_TERMINATED, &v));
    aisle_tokens *feats;
    assert_ok(aisle_hasher_features(h, text, AISLE_NUL_TERMINATED, &feats));
    size_t nf;
    assert_ok(aisle_tokens_count(feats, &nf));
    double expect[64] = {0};
    int negatives = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *f;
        size_t fl;
        int kind;
        assert_ok(aisle_tokens_get(feats, i, &f, &fl));
        assert_ok(aisle_tokens_kind(feats, i, &kind));
        assert_ok(aisle_hash32(f, fl, kind == AISLE_TOKEN_CHAR_NGRAM ? 1 : 0, &x));
        expect[x % 64] += (x >> 31) ? -1.0 : 1.0;
        negatives += (int)(x >> 31);
    }
    assert_true(negatives > 0 && (size_t)negatives < nf);
    double norm = 0;
    for (int i = 0; i < 64; i++) norm += expect[i] * expect[i];
    norm = sqrt(norm);
    assert_ok(aisle_sparse_data(v, &idx, &val, &nnz));
    size_t nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero += expect[i] != 0;
    assert_int_equal(nnz, nonzero);
    for (size_t i = 0; i < nnz; i++) assert_float_equal(val[i], expect[idx[i]] / norm, 1e-6);
    double n2;
    assert_ok(aisle_sparse_norm(v, &n2));
    assert_float_equal(n2, 1.0, 1e-6);
    aisle_tokens_free(feats);
    aisle_sparse_free(v);
    /* empty text: empty vector of the right dimension */
    assert_ok(aisle_hasher_transform(h, "", 0, &v));
    assert_ok(aisle_sparse_data(v, NULL, NULL, &nnz));
    assert_int_equal(nnz, 0);
    aisle_sparse_free(v);
    aisle_hasher_free(h);
}

/* ---- sparse vectors ---- */

static void test_sparse_sorts_sums_and_dots(void **state) {
    (void)state;
    const uint32_t ia[] = {7, 2, 7, 9, 4, 4};
    const float va[] = {1.0f, 3.0f, 2.0f, 0.5f, 1.5f, -1.5f}; /* index 4 sums to 0 and is dropped */
    aisle_sparse *a, *b;
    assert_ok(aisle_sparse_new(&a, 10, ia, va, 6));
    const uint32_t *idx;
    const float *val;
    size_t nnz;
    assert_ok(aisle_sparse_data(a, &idx, &val, &nnz));
    assert_int_equal(nnz, 3);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[1], 7);
    assert_int_equal(idx[2], 9);
    assert_float_equal(val[0], 3.0, 0);
    assert_float_equal(val[1], 3.0, 0);
    assert_float_equal(val[2], 0.5, 0);
    const uint32_t ib[] = {9, 0, 7};
    const float vb[] = {2.0f, 5.0f, -1.0f};
    assert_ok(aisle_sparse_new(&b, 10, ib, vb, 3));
    double d, n;
    assert_ok(aisle_sparse_dot(a, b, &d));
    assert_float_equal(d, 3.0 * -1.0 + 0.5 * 2.0, 1e-12);
    assert_ok(aisle_sparse_norm(a, &n));
    assert_float_equal(n, sqrt(9.0 + 9.0 + 0.25), 1e-6);
    assert_ok(aisle_sparse_normalize(a));
    assert_ok(aisle_sparse_norm(a, &n));
    assert_float_equal(n, 1.0, 1e-6);
    assert_float_equal(val[0], 3.0 / sqrt(18.25), 1e-6); /* pointers stay valid */
    aisle_sparse *c;
    assert_ok(aisle_sparse_new(&c, 11, NULL, NULL, 0));
    assert_status_msg(aisle_sparse_dot(a, c, &d), AISLE_EINVAL, "dimensions");
    assert_ok(aisle_sparse_normalize(c)); /* zero vector stays zero */
    aisle_sparse_free(c);
    const uint32_t bad[] = {3, 10};
    assert_status_msg(aisle_sparse_new(&c, 10, bad, vb, 2), AISLE_ERANGE, "indices[1]");
    const float nan_v[] = {NAN};
    assert_status_msg(aisle_sparse_new(&c, 10, bad, nan_v, 1), AISLE_EINVAL, "values[0]");
    aisle_sparse_free(a);
    aisle_sparse_free(b);
}

/* ---- TF-IDF and BM25 ---- */

static const char *const corpus3[] = {"red shoe", "red red hat", "blue hat"};

static aisle_tfidf *tfidf_fitted(const char *options) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    if (options) assert_ok(aisle_config_parse(cfg, options));
    aisle_tfidf *t;
    assert_ok(aisle_tfidf_new(&t, cfg));
    aisle_config_free(cfg);
    assert_ok(aisle_tfidf_fit(t, corpus3, 3));
    return t;
}

static double value_of(const aisle_sparse *v, uint32_t index) {
    const uint32_t *idx;
    const float *val;
    size_t nnz;
    assert_ok(aisle_sparse_data(v, &idx, &val, &nnz));
    for (size_t i = 0; i < nnz; i++)
        if (idx[i] == index) return val[i];
    return 0;
}

static void test_tfidf_matches_hand_computation(void **state) {
    (void)state;
    aisle_tfidf *t = tfidf_fitted(NULL);
    /* vocabulary in byte order: blue hat red shoe; N = 3;
     * df: blue 1, hat 2, red 2, shoe 1 */
    size_t n;
    assert_ok(aisle_tfidf_vocab_size(t, &n));
    assert_int_equal(n, 4);
    const char *names[] = {"blue", "hat", "red", "shoe"};
    /* smooth idf = ln((1+3)/(1+df)) + 1: df 1 -> 1.693147, df 2 -> 1.287682 */
    const double idf_hand[] = {1.693147, 1.287682, 1.287682, 1.693147};
    for (size_t i = 0; i < 4; i++) {
        const char *term;
        double idf;
        assert_ok(aisle_tfidf_term(t, i, &term, &idf));
        assert_string_equal(term, names[i]);
        assert_float_equal(idf, idf_hand[i], 1e-6);
    }
    /* "Red red shoe unknown": tf red 2, shoe 1 -> 2.575364, 1.693147;
     * norm 3.082085 -> 0.835593, 0.549352 */
    aisle_sparse *v;
    assert_ok(aisle_tfidf_transform(t, "Red red shoe unknown", AISLE_NUL_TERMINATED, &v));
    size_t nnz;
    assert_ok(aisle_sparse_data(v, NULL, NULL, &nnz));
    assert_int_equal(nnz, 2);
    assert_float_equal(value_of(v, 2), 0.835593, 1e-5);
    assert_float_equal(value_of(v, 3), 0.549352, 1e-5);
    aisle_sparse_free(v);
    size_t idx;
    assert_ok(aisle_tfidf_lookup(t, "hat", &idx));
    assert_int_equal(idx, 1);
    assert_status_msg(aisle_tfidf_lookup(t, "boot", &idx), AISLE_ENOTFOUND, "boot");
    assert_int_equal(aisle_tfidf_term(t, 4, names, NULL), AISLE_ERANGE);
    aisle_tfidf_free(t);

    /* min_df = 2 keeps hat, red; max_features = 1 keeps red (corpus count 3) */
    t = tfidf_fitted("min_df=2");
    assert_ok(aisle_tfidf_vocab_size(t, &n));
    assert_int_equal(n, 2);
    aisle_tfidf_free(t);
    t = tfidf_fitted("max_features=1");
    assert_ok(aisle_tfidf_vocab_size(t, &n));
    assert_int_equal(n, 1);
    assert_ok(aisle_tfidf_lookup(t, "red", &idx));
    aisle_tfidf_free(t);
}

static void test_bm25_matches_hand_computation(void **state) {
    (void)state;
    aisle_tfidf *t = tfidf_fitted("tfidf_weighting=bm25 l2_normalize=false");
    /* N = 3, document lengths 2, 3, 2 -> avgdl = 7/3; k1 = 1.2, b = 0.75.
     * idf(df=2) = ln(1 + 1.5/2.5) = 0.470004, idf(df=1) = ln(1 + 2.5/1.5) = 0.980829.
     * "red red shoe": dl 3, K = 1.2 * (0.25 + 0.75 * 3 / (7/3)) = 1.457143;
     * red (tf 2): 0.470004 * 2 * 2.2 / (2 + K) = 0.598187;
     * shoe (tf 1): 0.980829 * 2.2 / (1 + K) = 0.878184 */
    aisle_sparse *v;
    assert_ok(aisle_tfidf_transform(t, "red red shoe", AISLE_NUL_TERMINATED, &v));
    assert_float_equal(value_of(v, 2), 0.598187, 1e-5);
    assert_float_equal(value_of(v, 3), 0.878184, 1e-5);
    double idf;
    const char *term;
    assert_ok(aisle_tfidf_term(t, 0, &term, &idf));
    assert_float_equal(idf, 0.980829, 1e-6);
    /* the dot product with a 0/1 query vector is the BM25 score */
    const uint32_t q[] = {2, 3};
    const float ones[] = {1, 1};
    aisle_sparse *qv;
    assert_ok(aisle_sparse_new(&qv, 4, q, ones, 2));
    double score;
    assert_ok(aisle_sparse_dot(qv, v, &score));
    assert_float_equal(score, 0.598187 + 0.878184, 1e-5);
    aisle_sparse_free(qv);
    aisle_sparse_free(v);
    aisle_tfidf_free(t);
}

static void test_tfidf_states_and_errors(void **state) {
    (void)state;
    aisle_tfidf *t;
    assert_ok(aisle_tfidf_new(&t, NULL));
    aisle_sparse *v;
    assert_status_msg(aisle_tfidf_transform(t, "x", 1, &v), AISLE_ESTATE, "aisle_tfidf_fit");
    assert_status_msg(aisle_tfidf_fit(t, corpus3, 0), AISLE_EINVAL, "empty");
    const char *with_null[] = {"a", NULL};
    assert_status_msg(aisle_tfidf_fit(t, with_null, 2), AISLE_EINVAL, "texts[1]");
    /* refit replaces the vocabulary */
    assert_ok(aisle_tfidf_fit(t, corpus3, 3));
    const char *other[] = {"uno dos", "dos"};
    assert_ok(aisle_tfidf_fit(t, other, 2));
    size_t n;
    assert_ok(aisle_tfidf_vocab_size(t, &n));
    assert_int_equal(n, 2);
    aisle_tfidf_free(t);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_int_equal(aisle_config_set(cfg, "tfidf_weighting", "bm99"), AISLE_EINVAL);
    aisle_config_free(cfg);
}

static void test_tfidf_allocation_failure(void **state) {
    (void)state;
    const char *docs[] = {"wireless bluetooth headphones", "蓝牙耳机 无线", "bluetooth speaker", "usb c cable 2m"};
    int succeeded = 0;
    for (uint64_t n = 1; n < 400 && !succeeded; n++) {
        tu_failalloc_install(n, 0);
        aisle_config *cfg = NULL;
        aisle_tfidf *t = NULL;
        aisle_sparse *v = NULL;
        int rc = aisle_config_new(&cfg);
        if (!rc) rc = aisle_config_parse(cfg, "word_ngrams=2 char_ngram_min=3 char_ngram_max=3");
        if (!rc) rc = aisle_tfidf_new(&t, cfg);
        int fit_rc = -100;
        if (!rc) rc = fit_rc = aisle_tfidf_fit(t, docs, 4);
        if (!rc) rc = aisle_tfidf_transform(t, "bluetooth headphones 蓝牙", AISLE_NUL_TERMINATED, &v);
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
            /* a failed fit leaves the handle unfitted and usable */
            if (fit_rc == AISLE_ENOMEM) assert_int_equal(aisle_tfidf_vocab_size(t, &(size_t){0}), AISLE_ESTATE);
        } else {
            succeeded = 1;
            double norm;
            assert_ok(aisle_sparse_norm(v, &norm));
            assert_float_equal(norm, 1.0, 1e-6);
        }
        aisle_sparse_free(v);
        aisle_tfidf_free(t);
        aisle_config_free(cfg);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
    }
    assert_true(succeeded);
}

static void test_hasher_allocation_failure(void **state) {
    (void)state;
    int succeeded = 0;
    for (uint64_t n = 1; n < 400 && !succeeded; n++) {
        tu_failalloc_install(n, 0);
        aisle_config *cfg = NULL;
        aisle_hasher *h = NULL;
        aisle_sparse *v = NULL;
        aisle_tokens *f = NULL;
        int rc = aisle_config_new(&cfg);
        if (!rc) rc = aisle_config_parse(cfg, "word_ngrams=3 char_ngram_min=2 char_ngram_max=5 stop_words=_english_");
        if (!rc) rc = aisle_hasher_new(&h, cfg);
        /* long enough to need several growths of the pair arrays */
        const char *text = "the wireless bluetooth headphones with active noise cancelling and a long battery life "
                           "无线蓝牙耳机 主动降噪 超长续航 Беспроводные наушники с шумоподавлением";
        if (!rc) rc = aisle_hasher_transform(h, text, AISLE_NUL_TERMINATED, &v);
        if (!rc) rc = aisle_hasher_features(h, text, AISLE_NUL_TERMINATED, &f);
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
        } else {
            succeeded = 1;
            size_t nnz;
            assert_ok(aisle_sparse_data(v, NULL, NULL, &nnz));
            assert_true(nnz > 100);
        }
        aisle_tokens_free(f);
        aisle_sparse_free(v);
        aisle_hasher_free(h);
        aisle_config_free(cfg);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
    }
    assert_true(succeeded);
}

/* The example of docs/FEATURES.md, verbatim apart from the checks. */
static void test_docs_example_runs(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "stop_words=_english_ word_ngrams=2 char_ngram_min=3 char_ngram_max=5"));
    aisle_tfidf *tf;
    assert_ok(aisle_tfidf_new(&tf, cfg));
    const char *titles[] = {"Wireless Bluetooth Headphones", "无线蓝牙耳机", "USB-C cable 2m"};
    assert_ok(aisle_tfidf_fit(tf, titles, 3));
    aisle_sparse *v;
    assert_ok(aisle_tfidf_transform(tf, "bluetooth headphones", AISLE_NUL_TERMINATED, &v));
    const uint32_t *idx;
    const float *val;
    size_t nnz;
    assert_ok(aisle_sparse_data(v, &idx, &val, &nnz));
    size_t vocab, i_bt, i_pair;
    assert_ok(aisle_tfidf_vocab_size(tf, &vocab));
    assert_ok(aisle_tfidf_lookup(tf, "bluetooth", &i_bt));
    assert_ok(aisle_tfidf_lookup(tf, "bluetooth headphones", &i_pair));
    assert_true(value_of(v, (uint32_t)i_bt) > 0);
    assert_true(value_of(v, (uint32_t)i_pair) > 0);
    double norm;
    assert_ok(aisle_sparse_norm(v, &norm));
    assert_float_equal(norm, 1.0, 1e-6);
    aisle_sparse_free(v);
    aisle_tfidf_free(tf);
    aisle_config_free(cfg);
}

/* ---- encoders ---- */

static void test_category_encoder_min_count_and_oov(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_int(cfg, "category_min_count", 2));
    aisle_category_encoder *e;
    assert_ok(aisle_category_encoder_new(&e, cfg));
    aisle_config_free(cfg);
    size_t idx, n;
    assert_int_equal(aisle_category_encoder_transform(e, "x", &idx), AISLE_ESTATE);
    const char *brands[] = {"Sony", "Apple", "Bose", "Apple", "Sony", "Sony", "Anker", "sony"};
    assert_ok(aisle_category_encoder_fit(e, brands, CORE_ARRAY_LEN(brands)));
    assert_ok(aisle_category_encoder_size(e, &n));
    assert_int_equal(n, 3); /* OOV, Sony, Apple */
    assert_ok(aisle_category_encoder_transform(e, "Sony", &idx));
    assert_int_equal(idx, 1);
    assert_ok(aisle_category_encoder_transform(e, "Apple", &idx));
    assert_int_equal(idx, 2);
    assert_ok(aisle_category_encoder_transform(e, "Bose", &idx)); /* seen once: below min_count */
    assert_int_equal(idx, 0);
    assert_ok(aisle_category_encoder_transform(e, "sony", &idx)); /* byte for byte */
    assert_int_equal(idx, 0);
    assert_ok(aisle_category_encoder_transform(e, "Samsung", &idx));
    assert_int_equal(idx, 0);
    const char *v;
    assert_ok(aisle_category_encoder_value(e, 2, &v));
    assert_string_equal(v, "Apple");
    assert_status_msg(aisle_category_encoder_value(e, 0, &v), AISLE_ERANGE, "out-of-vocabulary");
    assert_int_equal(aisle_category_encoder_value(e, 3, &v), AISLE_ERANGE);
    const char *with_null[] = {"a", NULL};
    assert_status_msg(aisle_category_encoder_fit(e, with_null, 2), AISLE_EINVAL, "values[1]");
    assert_ok(aisle_category_encoder_size(e, &n)); /* unchanged by the failed fit */
    assert_int_equal(n, 3);
    aisle_category_encoder_free(e);
}

static void test_category_encoder_allocation_failure(void **state) {
    (void)state;
    char keys[300][16];
    const char *vals[600];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof keys[i], "cat-%d", i % 150);
        vals[2 * i] = vals[2 * i + 1] = keys[i];
    }
    int succeeded = 0;
    for (uint64_t n = 1; n < 200 && !succeeded; n++) {
        tu_failalloc_install(n, 0);
        aisle_category_encoder *e = NULL;
        int rc = aisle_category_encoder_new(&e, NULL);
        if (!rc) rc = aisle_category_encoder_fit(e, vals, 600);
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
        } else {
            succeeded = 1;
            size_t size;
            assert_ok(aisle_category_encoder_size(e, &size));
            assert_int_equal(size, 151);
        }
        aisle_category_encoder_free(e);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
    }
    assert_true(succeeded);
}

static aisle_numeric_encoder *numeric_with(const char *options) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    aisle_numeric_encoder *e;
    assert_ok(aisle_numeric_encoder_new(&e, cfg));
    aisle_config_free(cfg);
    return e;
}

static void test_numeric_standardize_minmax_log1p(void **state) {
    (void)state;
    const double prices[] = {10, 20, 30, 40}; /* mean 25, population sd sqrt(125) */
    double y;
    aisle_numeric_encoder *e = numeric_with("numeric_transform=standardize");
    assert_int_equal(aisle_numeric_encoder_transform(e, 1, &y), AISLE_ESTATE);
    assert_ok(aisle_numeric_encoder_fit(e, prices, 4));
    assert_ok(aisle_numeric_encoder_transform(e, 40, &y));
    assert_float_equal(y, 15 / sqrt(125.0), 1e-12);
    assert_int_equal(aisle_numeric_encoder_transform(e, NAN, &y), AISLE_EINVAL);
    size_t bin;
    assert_int_equal(aisle_numeric_encoder_bin(e, 1, &bin), AISLE_EUNSUPPORTED);
    const double constant[] = {5, 5};
    assert_ok(aisle_numeric_encoder_fit(e, constant, 2));
    assert_ok(aisle_numeric_encoder_transform(e, 7, &y));
    assert_float_equal(y, 0, 0);
    const double bad[] = {1, INFINITY};
    assert_status_msg(aisle_numeric_encoder_fit(e, bad, 2), AISLE_EINVAL, "values[1]");
    aisle_numeric_encoder_free(e);

    e = numeric_with("numeric_transform=minmax");
    assert_ok(aisle_numeric_encoder_fit(e, prices, 4));
    assert_ok(aisle_numeric_encoder_transform(e, 25, &y));
    assert_float_equal(y, 0.5, 1e-12);
    assert_ok(aisle_numeric_encoder_transform(e, 50, &y)); /* not clamped */
    assert_float_equal(y, 4.0 / 3.0, 1e-12);
    aisle_numeric_encoder_free(e);

    e = numeric_with("numeric_transform=log1p");
    assert_ok(aisle_numeric_encoder_transform(e, 99, &y)); /* needs no fit */
    assert_float_equal(y, log(100.0), 1e-12);
    assert_status_msg(aisle_numeric_encoder_transform(e, -1, &y), AISLE_ERANGE, "log1p");
    const double neg[] = {3, -2};
    assert_status_msg(aisle_numeric_encoder_fit(e, neg, 2), AISLE_ERANGE, "values[1]");
    aisle_numeric_encoder_free(e);
}

static void test_numeric_quantile_bins(void **state) {
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++) v[99 - i] = i + 1; /* 1..100, reversed: fit sorts */
    aisle_numeric_encoder *e = numeric_with("numeric_transform=quantile quantile_bins=4");
    assert_ok(aisle_numeric_encoder_fit(e, v, 100));
    const double *edges;
    size_t bins, bin;
    assert_ok(aisle_numeric_encoder_edges(e, &edges, &bins));
    assert_int_equal(bins, 4);
    /* ranks floor(i * 100 / 4) = 25, 50, 75 of 1..100 */
    assert_float_equal(edges[0], 26, 0);
    assert_float_equal(edges[1], 51, 0);
    assert_float_equal(edges[2], 76, 0);
    int per_bin[4] = {0};
    for (int i = 0; i < 100; i++) {
        assert_ok(aisle_numeric_encoder_bin(e, v[i], &bin));
        per_bin[bin]++;
    }
    for (int b = 0; b < 4; b++) assert_int_equal(per_bin[b], 25);
    assert_ok(aisle_numeric_encoder_bin(e, -1e9, &bin));
    assert_int_equal(bin, 0);
    assert_ok(aisle_numeric_encoder_bin(e, 1e9, &bin));
    assert_int_equal(bin, 3);
    double y;
    assert_ok(aisle_numeric_encoder_transform(e, 50.5, &y));
    assert_float_equal(y, 1, 0);
    /* heavy ties: prices 9.99 x 8, 19.99, 99 -> equal edges merge */
    const double ties[] = {9.99, 9.99, 9.99, 9.99, 9.99, 9.99, 9.99, 9.99, 19.99, 99};
    assert_ok(aisle_numeric_encoder_fit(e, ties, 10));
    assert_ok(aisle_numeric_encoder_edges(e, &edges, &bins));
    assert_int_equal(bins, 1); /* every rank 2, 5, 7 is 9.99, the minimum */
    const double spread[] = {1, 1, 1, 1, 1, 2, 3, 4, 5, 6};
    assert_ok(aisle_numeric_encoder_fit(e, spread, 10));
    assert_ok(aisle_numeric_encoder_edges(e, &edges, &bins));
    assert_int_equal(bins, 3); /* ranks 2, 5, 7 -> 1 (dropped), 2, 4 */
    assert_float_equal(edges[0], 2, 0);
    assert_float_equal(edges[1], 4, 0);
    aisle_numeric_encoder_free(e);
}

/* ---- threads ---- */

typedef struct share_ctx {
    const aisle_tfidf *t;
    const aisle_hasher *h;
    uint32_t (*ref)[512]; /* single-thread results per text */
    size_t *nref;
    int ok;
} share_ctx;

static const char *const share_texts[] = {"wireless bluetooth headphones", "蓝牙耳机 无线 iPhone 15",
                                          "Беспроводные наушники", "usb c cable 2.4GHz"};

/* Serialises both vectors of text i into out (values as bit patterns). */
static size_t vectors_of(const share_ctx *c, int i, uint32_t *out, size_t cap) {
    size_t o = 0;
    aisle_sparse *v[2];
    if (aisle_tfidf_transform(c->t, share_texts[i], AISLE_NUL_TERMINATED, &v[0])) return 0;
    if (aisle_hasher_transform(c->h, share_texts[i], AISLE_NUL_TERMINATED, &v[1])) return 0;
    for (int k = 0; k < 2; k++) {
        const uint32_t *idx;
        const float *val;
        size_t nnz;
        aisle_sparse_data(v[k], &idx, &val, &nnz);
        for (size_t j = 0; j < nnz && o + 2 <= cap; j++) {
            out[o++] = idx[j];
            memcpy(&out[o++], &val[j], 4);
        }
        aisle_sparse_free(v[k]);
    }
    return o;
}

static void *share_thread(void *arg) {
    share_ctx *c = arg;
    uint32_t a[512];
    c->ok = 1;
    for (int rep = 0; rep < 200; rep++) {
        int i = rep % 4;
        size_t na = vectors_of(c, i, a, 512);
        if (!na || na != c->nref[i] || memcmp(a, c->ref[i], na * 4)) c->ok = 0;
    }
    return NULL;
}

static void test_fitted_handles_are_shared_between_threads(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "word_ngrams=2 char_ngram_min=2 char_ngram_max=4 signed_hash=true"));
    share_ctx c[4];
    aisle_tfidf *t;
    aisle_hasher *h;
    assert_ok(aisle_tfidf_new(&t, cfg));
    assert_ok(aisle_hasher_new(&h, cfg));
    assert_ok(aisle_tfidf_fit(t, share_texts, 4));
    uint32_t ref[4][512];
    size_t nref[4];
    c[0] = (share_ctx){t, h, ref, nref, 0};
    for (int i = 0; i < 4; i++) {
        nref[i] = vectors_of(&c[0], i, ref[i], 512);
        assert_true(nref[i] > 0);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (share_ctx){t, h, ref, nref, 0};
        assert_int_equal(pthread_create(&th[i], NULL, share_thread, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) assert_true(c[i].ok);
    aisle_hasher_free(h);
    aisle_tfidf_free(t);
    aisle_config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash32_matches_published_vectors),
        cmocka_unit_test(test_hash32_passes_smhasher_verification),
        cmocka_unit_test(test_hash_tokens_uses_default_tokenizer),
        cmocka_unit_test(test_tokenizer_english_punctuation_and_numbers),
        cmocka_unit_test(test_tokenizer_lowercases_german_and_latin_extended),
        cmocka_unit_test(test_tokenizer_lowercases_russian_and_greek),
        cmocka_unit_test(test_tokenizer_cjk_unigrams_and_bigrams),
        cmocka_unit_test(test_tokenizer_stop_words_and_min_length),
        cmocka_unit_test(test_tokenizer_invalid_utf8_is_skipped),
        cmocka_unit_test(test_tokenizer_cuts_very_long_tokens),
        cmocka_unit_test(test_tokenizer_callback_and_kinds),
        cmocka_unit_test(test_tokenize_allocation_failure),
        cmocka_unit_test(test_char_ngrams_are_fasttext_style),
        cmocka_unit_test(test_word_ngrams_span_words_and_cjk),
        cmocka_unit_test(test_hasher_buckets_signs_and_norm),
        cmocka_unit_test(test_sparse_sorts_sums_and_dots),
        cmocka_unit_test(test_tfidf_matches_hand_computation),
        cmocka_unit_test(test_bm25_matches_hand_computation),
        cmocka_unit_test(test_tfidf_states_and_errors),
        cmocka_unit_test(test_tfidf_allocation_failure),
        cmocka_unit_test(test_hasher_allocation_failure),
        cmocka_unit_test(test_docs_example_runs),
        cmocka_unit_test(test_category_encoder_min_count_and_oov),
        cmocka_unit_test(test_category_encoder_allocation_failure),
        cmocka_unit_test(test_numeric_standardize_minmax_log1p),
        cmocka_unit_test(test_numeric_quantile_bins),
        cmocka_unit_test(test_fitted_handles_are_shared_between_threads),
    };
    return cmocka_run_group_tests_name("features", tests, NULL, NULL);
}
