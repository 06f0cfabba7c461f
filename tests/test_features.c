/* test_features.c - tokenizer (English, German, Russian, Greek, Chinese,
 * Japanese, Korean, invalid UTF-8), MurmurHash3 test vectors, n-grams,
 * feature hashing, sparse vectors, TF-IDF/BM25 against hand-computed
 * values, categorical and numeric encoders, allocation failures. */
#include <math.h>
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
    };
    return cmocka_run_group_tests_name("features", tests, NULL, NULL);
}
