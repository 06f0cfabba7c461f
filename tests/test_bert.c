/* test_bert.c - pretrained BERT checkpoints: the tokenizer and the forward
 * pass against the reference in tests/bert/bert_ref.py (committed fixtures
 * in tests/bert/data, regenerated live when python3-torch is installed),
 * save/load in fp32/fp16/int8, threads, and bad checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bert/bert.h"
#include "util/test_util.h"

#define TOL 1e-4

/* ---- expected.txt ---- */

typedef struct {
    char kind[16], model[16];
    int idx;
    char *rest; /* the rest of the line */
} line_t;

typedef struct {
    line_t *l;
    size_t n;
} expected_t;

static void expected_load(expected_t *e, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    memset(e, 0, sizeof *e);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&buf, &cap, f)) > 0) {
        if (buf[0] == '#') continue;
        if (buf[got - 1] == '\n') buf[got - 1] = '\0';
        e->l = realloc(e->l, (e->n + 1) * sizeof *e->l);
        assert_non_null(e->l);
        line_t *l = &e->l[e->n++];
        int off = 0;
        l->idx = -1;
        if (!strncmp(buf, "model ", 6)) {
            sscanf(buf, "%15s %15s %n", l->kind, l->model, &off);
        } else {
            assert_int_equal(sscanf(buf, "%15s %15s %d %n", l->kind, l->model, &l->idx, &off), 3);
        }
        l->rest = strdup(buf + off);
    }
    free(buf);
    fclose(f);
}

static void expected_free(expected_t *e) {
    for (size_t i = 0; i < e->n; i++) free(e->l[i].rest);
    free(e->l);
}

static const line_t *find(const expected_t *e, const char *kind, const char *model, int idx) {
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->l[i].kind, kind) && !strcmp(e->l[i].model, model) && e->l[i].idx == idx) return &e->l[i];
    return NULL;
}

static char *unhex(const char *h) {
    size_t n = strcmp(h, "-") ? strlen(h) / 2 : 0;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = '\0';
    return s;
}

static size_t read_floats(const char *s, double *out, size_t cap) {
    size_t n = 0;
    char *end;
    while (n < cap) {
        double v = strtod(s, &end);
        if (end == s) break;
        out[n++] = v;
        s = end;
    }
    return n;
}

static aisle_config *cfg_len(int max_length, int threads) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_int(cfg, "max_length", max_length));
    assert_ok(aisle_config_set_int(cfg, "threads", threads));
    return cfg;
}

/* Checks one model of an expected.txt against aisle; tol for the floats. */
static void check_model(const char *dir, const expected_t *e, const char *name, aisle_bert *m, double tol) {
    char path[1024];
    const line_t *ml = NULL;
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->l[i].kind, "model") && !strcmp(e->l[i].model, name)) ml = &e->l[i];
    assert_non_null(ml);
    int H, labels, maxpos;
    assert_int_equal(sscanf(ml->rest, "%d %d %d", &H, &labels, &maxpos), 3);
    aisle_bert *own = NULL;
    if (!m) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        assert_ok(aisle_bert_import(&own, path, NULL));
        m = own;
    }
    size_t dim, nl, mx;
    int reg;
    assert_ok(aisle_bert_info(m, &dim, &nl, &reg, &mx));
    assert_int_equal(dim, (size_t)H);
    assert_int_equal(nl, (size_t)labels);
    assert_int_equal(reg, labels == 1);
    assert_int_equal(mx, (size_t)maxpos);

    /* tokenizer corpus */
    uint32_t ids[512], types[512];
    int checked = 0;
    for (int i = 0;; i++) {
        const line_t *tl = find(e, "text", name, i), *kl = find(e, "tok", name, i);
        if (!tl) break;
        assert_non_null(kl);
        char *text = unhex(tl->rest);
        size_t n;
        aisle_config *cfg = cfg_len(maxpos, 1);
        assert_ok(aisle_bert_tokenize(m, text, NULL, cfg, ids, types, 512, &n));
        aisle_config_free(cfg);
        int want_n, off;
        const char *p = kl->rest;
        assert_int_equal(sscanf(p, "%d%n", &want_n, &off), 1);
        p += off;
        if ((size_t)want_n + 2 != n) fail_msg("%s text %d: %zu tokens, reference %d", name, i, n - 2, want_n);
        for (int k = 0; k < want_n; k++) {
            unsigned v;
            assert_int_equal(sscanf(p, "%u%n", &v, &off), 1);
            p += off;
            if (ids[k + 1] != v) fail_msg("%s text %d ('%s'): token %d is %u, reference %u", name, i, text, k, ids[k + 1], v);
        }
        free(text);
        checked++;
    }
    assert_true(checked >= 20);

    /* encoded pairs, hidden states, pooled, head */
    static double want[64 * 1024], got_d[64 * 1024];
    static float got[64 * 1024];
    for (int c = 0;; c++) {
        const line_t *el = find(e, "enc", name, c);
        if (!el) break;
        int a, ml2, n, off;
        char bs[16];
        const char *p = el->rest;
        assert_int_equal(sscanf(p, "%d %15s %d %d%n", &a, bs, &ml2, &n, &off), 4);
        p += off;
        int b = strcmp(bs, "-") ? atoi(bs) : -1;
        char *ta = unhex(find(e, "text", name, a)->rest), *tb = b >= 0 ? unhex(find(e, "text", name, b)->rest) : NULL;
        aisle_config *cfg = cfg_len(ml2, 1);
        size_t got_n;
        assert_ok(aisle_bert_tokenize(m, ta, tb, cfg, ids, types, 512, &got_n));
        assert_int_equal(got_n, (size_t)n);
        for (int k = 0; k < n; k++) {
            unsigned v;
            assert_int_equal(sscanf(p, "%u%n", &v, &off), 1);
            p += off;
            assert_int_equal(ids[k], v);
        }
        for (int k = 0; k < n; k++) {
            unsigned v;
            assert_int_equal(sscanf(p, "%u%n", &v, &off), 1);
            p += off;
            assert_int_equal(types[k], v);
        }
        /* hidden states */
        size_t nt;
        assert_ok(aisle_bert_hidden(m, ta, tb, cfg, got, 1024, &nt));
        assert_int_equal(nt, (size_t)n);
        size_t nw = read_floats(find(e, "hidden", name, c)->rest, want, 64 * 1024);
        assert_int_equal(nw, (size_t)n * H);
        double worst = 0;
        for (size_t k = 0; k < nw; k++) worst = fmax(worst, fabs(got[k] - want[k]));
        if (worst > tol) fail_msg("%s case %d: hidden states differ by %g (tolerance %g)", name, c, worst, tol);
        /* head (softmax probabilities or the regression value) */
        const char *texts_a[1] = {ta}, *texts_b[1] = {tb};
        float head[64];
        assert_ok(aisle_bert_classify(m, texts_a, tb ? texts_b : NULL, 1, cfg, head));
        nw = read_floats(find(e, "head", name, c)->rest, want, 64);
        assert_int_equal(nw, (size_t)labels);
        for (size_t k = 0; k < nw; k++)
            if (fabs(head[k] - want[k]) > tol) fail_msg("%s case %d: head[%zu] %g vs %g", name, c, k, head[k], want[k]);
        if (!tb) { /* single texts: the three poolings */
            float emb[1024];
            assert_ok(aisle_bert_embed(m, texts_a, 1, AISLE_BERT_POOL_POOLER, cfg, emb));
            nw = read_floats(find(e, "pooled", name, c)->rest, want, 1024);
            for (size_t k = 0; k < nw; k++)
                if (fabs(emb[k] - want[k]) > tol) fail_msg("%s case %d: pooled[%zu] %g vs %g", name, c, k, emb[k], want[k]);
            assert_ok(aisle_bert_embed(m, texts_a, 1, AISLE_BERT_POOL_CLS, cfg, emb));
            for (int k = 0; k < H; k++) assert_true(fabs(emb[k] - got[k]) < 1e-6);
            assert_ok(aisle_bert_embed(m, texts_a, 1, AISLE_BERT_POOL_MEAN, cfg, emb));
            for (int k = 0; k < H; k++) {
                double s = 0;
                for (int t = 0; t < n; t++) s += got[t * H + k];
                assert_true(fabs(emb[k] - s / n) < 1e-5);
            }
        }
        (void)got_d;
        aisle_config_free(cfg);
        free(ta);
        free(tb);
    }
    aisle_bert_free(own);
}


/* The bounded JSON parser under config.json and the safetensors header. */
static void test_json_parser(void **state) {
    (void)state;
    bert_json j;
    const char *ok = "{\"a\": [1, -2.5e3, true, false, null], \"s\": \"\\u00e9\\ud83d\\ude00\\n\", \"a\": 7}";
    assert_ok(bert_json_parse(&j, ok, strlen(ok), "t.json"));
    uint32_t a = bert_json_get(&j, 0, "a"), str = bert_json_get(&j, 0, "s");
    assert_int_equal(j.nodes[a].type, BJ_NUM); /* a repeated key: the last wins */
    assert_true(j.nodes[a].num == 7);
    assert_string_equal(j.strs + j.nodes[str].str, "\xc3\xa9\xf0\x9f\x98\x80\n");
    bert_json_free(&j);
    static const char *const bad[] = {"{\"a\": 1,}", "{\"a\" 1}", "[1, 2", "{\"a\": 01}", "\"\\ud800\"",
                                      "{} {}", "\"tab\there\"", "nul", "-", "1.", "[1e]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(bert_json_parse(&j, bad[i], strlen(bad[i]), "t.json"), AISLE_EFORMAT);
        assert_non_null(strstr(aisle_last_error(), "t.json: JSON error at byte"));
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(bert_json_parse(&j, deep, 200, "deep.json"), AISLE_EFORMAT);
    assert_non_null(strstr(aisle_last_error(), "nesting too deep"));
    assert_ok(bert_json_parse(&j, deep + 40, 120, "ok.json")); /* depth 60 */
    bert_json_free(&j);
}

static char fixture_dir[1024];

static const char *fixtures(void) {
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/bert/data", tu_srcdir());
    return fixture_dir;
}

static void test_reference_committed(void **state) {
    (void)state;
    char path[1100];
    expected_t e;
    snprintf(path, sizeof path, "%s/expected.txt", fixtures());
    expected_load(&e, path);
    check_model(fixtures(), &e, "cls", NULL, TOL);
    check_model(fixtures(), &e, "reg", NULL, TOL);
    expected_free(&e);
}

/* Regenerates fixtures with another seed when torch is installed. */
static void test_reference_live(void **state) {
    (void)state;
    /* Debian's python3-torch lives in /usr/bin/python3, which another
     * python3 earlier on PATH may hide */
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    const char *py = NULL;
    char cmd[2048];
    for (int i = 0; i < 2 && !py; i++) {
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) == 0) py = pythons[i];
    }
    if (!py) {
        printf("    (python3-torch not installed: live regeneration skipped; committed fixtures were checked)\n");
        return;
    }
    char dir[512], path[1100];
    tu_tmpdir(dir, sizeof dir, "bert_live");
    snprintf(cmd, sizeof cmd, "%s %s/tests/bert/bert_ref.py --out %s --seed 11", py, tu_srcdir(), dir);
    assert_int_equal(system(cmd), 0);
    expected_t e;
    snprintf(path, sizeof path, "%s/expected.txt", dir);
    expected_load(&e, path);
    check_model(dir, &e, "cls", NULL, TOL);
    check_model(dir, &e, "reg", NULL, TOL);
    expected_free(&e);
}

static void test_save_load(void **state) {
    (void)state;
    char dir[512], src[1100], path[1100], path2[1100];
    tu_tmpdir(dir, sizeof dir, "bert_save");
    snprintf(src, sizeof src, "%s/cls", fixtures());
    aisle_bert *m, *l;
    assert_ok(aisle_bert_import(&m, src, NULL));
    snprintf(path, sizeof path, "%s/cls.aisle", dir);
    assert_ok(aisle_bert_save(m, path, NULL));
    assert_ok(aisle_bert_load(&l, path, NULL));
    /* fp32 round trip: the reference still matches */
    expected_t e;
    snprintf(path2, sizeof path2, "%s/expected.txt", fixtures());
    expected_load(&e, path2);
    check_model(fixtures(), &e, "cls", l, TOL);
    const char *texts[4] = {"The shop sells running shoes.", "great 👍🏽 shoes", "我喜欢这家商店", "Café à Paris"};
    float ref[4 * 64], q[4 * 64], p1[4 * 3], p2[4 * 3];
    aisle_config *c1 = cfg_len(0, 1), *c2 = cfg_len(0, 2);
    assert_ok(aisle_bert_embed(m, texts, 4, AISLE_BERT_POOL_MEAN, c1, ref));
    /* threads: identical results */
    assert_ok(aisle_bert_embed(l, texts, 4, AISLE_BERT_POOL_MEAN, c2, q));
    assert_memory_equal(ref, q, sizeof ref);
    assert_ok(aisle_bert_classify(m, texts, NULL, 4, c1, p1));
    assert_ok(aisle_bert_classify(l, texts, texts + 0, 4, c2, p2));
    size_t bytes32, bytes8;
    assert_ok(aisle_bert_memory(l, &bytes32));
    /* fp16 and int8: close, smaller */
    static const char *const quants[] = {"fp16", "int8"};
    for (int qi = 0; qi < 2; qi++) {
        aisle_config *qc;
        assert_ok(aisle_config_new(&qc));
        assert_ok(aisle_config_set(qc, "quantize", quants[qi]));
        snprintf(path2, sizeof path2, "%s/cls_%s.aisle", dir, quants[qi]);
        assert_ok(aisle_bert_save(m, path2, qc));
        aisle_config_free(qc);
        aisle_bert *lq;
        assert_ok(aisle_bert_load(&lq, path2, NULL));
        assert_ok(aisle_bert_embed(lq, texts, 4, AISLE_BERT_POOL_MEAN, c1, q));
        double worst = 0;
        for (int k = 0; k < 4 * 64; k++) worst = fmax(worst, fabs(q[k] - ref[k]));
        assert_true(worst < (qi ? 0.1 : 0.01));
        assert_true(worst > 0); /* really quantized */
        assert_ok(aisle_bert_memory(lq, &bytes8));
        assert_true(bytes8 < bytes32);
        /* saving the quantized model again keeps its values */
        snprintf(path, sizeof path, "%s/again.aisle", dir);
        aisle_config *qc2;
        assert_ok(aisle_config_new(&qc2));
        assert_ok(aisle_config_set(qc2, "quantize", quants[qi]));
        assert_ok(aisle_bert_save(lq, path, qc2));
        aisle_config_free(qc2);
        aisle_bert *again;
        assert_ok(aisle_bert_load(&again, path, NULL));
        float q2[4 * 64];
        assert_ok(aisle_bert_embed(again, texts, 4, AISLE_BERT_POOL_MEAN, c1, q2));
        assert_memory_equal(q, q2, sizeof q);
        aisle_bert_free(again);
        aisle_bert_free(lq);
    }
    expected_free(&e);
    aisle_config_free(c1);
    aisle_config_free(c2);
    aisle_bert_free(m);
    aisle_bert_free(l);
}

/* The threaded fp32, fp16 and int8 forwards (the int8 kernel's tiles and
 * the row-wise work split over `threads`) give threads=1's floats bit for
 * bit on 2..4 threads: pooled and mean embeddings and the classifier, on
 * texts and pairs long enough to span several 16-row panels.  make
 * check-tsan runs this test alone under ThreadSanitizer. */
static void test_threads_match_one_thread_bit_for_bit(void **state) {
    (void)state;
    char dir[512], src[1100], path[1100];
    tu_tmpdir(dir, sizeof dir, "bert_threads");
    snprintf(src, sizeof src, "%s/cls", fixtures());
    aisle_bert *m;
    assert_ok(aisle_bert_import(&m, src, NULL));
    enum { N = 12 };
    const char *texts[N], *pairs[N];
    static char buf[N][400];
    static const char *const words[] = {"the", "shop", "sells", "running", "shoes", "great", "cafe", "paris", "costs", "hello"};
    for (int i = 0; i < N; i++) {
        size_t o = 0;
        for (int w = 0; w < 3 + 5 * i; w++) o += (size_t)snprintf(buf[i] + o, sizeof buf[i] - o, "%s ", words[(i * 7 + w * 3) % 10]);
        texts[i] = buf[i];
        pairs[i] = buf[N - 1 - i];
    }
    static const char *const quants[] = {"none", "fp16", "int8"};
    for (int qi = 0; qi < 3; qi++) {
        aisle_config *qc;
        assert_ok(aisle_config_new(&qc));
        assert_ok(aisle_config_set(qc, "quantize", quants[qi]));
        snprintf(path, sizeof path, "%s/threads_%s.aisle", dir, quants[qi]);
        assert_ok(aisle_bert_save(m, path, qc));
        aisle_config_free(qc);
        aisle_bert *l;
        assert_ok(aisle_bert_load(&l, path, NULL));
        static float ref[3][N * 64], got[N * 64];
        float pref[N * 3], pgot[N * 3];
        aisle_config *c1 = cfg_len(0, 1);
        assert_ok(aisle_bert_embed(l, texts, N, AISLE_BERT_POOL_POOLER, c1, ref[0]));
        assert_ok(aisle_bert_embed(l, texts, N, AISLE_BERT_POOL_MEAN, c1, ref[1]));
        assert_ok(aisle_bert_classify(l, texts, pairs, N, c1, pref));
        for (int th = 2; th <= 4; th++) {
            aisle_config *ct = cfg_len(0, th);
            assert_ok(aisle_bert_embed(l, texts, N, AISLE_BERT_POOL_POOLER, ct, got));
            assert_memory_equal(ref[0], got, sizeof got);
            assert_ok(aisle_bert_embed(l, texts, N, AISLE_BERT_POOL_MEAN, ct, got));
            assert_memory_equal(ref[1], got, sizeof got);
            assert_ok(aisle_bert_classify(l, texts, pairs, N, ct, pgot));
            assert_memory_equal(pref, pgot, sizeof pgot);
            aisle_config_free(ct);
        }
        aisle_config_free(c1);
        aisle_bert_free(l);
    }
    aisle_bert_free(m);
}

/* NFC: composed and decomposed spellings, singletons and marks in either
 * order give the same tokens, cased (reg fixture) and uncased (cls). */
static void test_tokenizer_nfc(void **state) {
    (void)state;
    static const char *const same[][2] = {
        {"Café crème", "Cafe\xcc\x81 cre\xcc\x80me"},
        {"\xc3\x85ngstr\xc3\xb6m", "\xe2\x84\xab" "ngstro\xcc\x88m"},           /* U+212B ANGSTROM SIGN */
        {"\xe1\xbb\x87", "e\xcc\xa3\xcc\x82"},                                 /* U+1EC7 from marks in order */
        {"\xe1\xbb\x87", "e\xcc\x82\xcc\xa3"},                                 /* ... and in the other order */
        {"\xea\xb0\x81", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"},              /* Hangul from conjoining jamo */
        {"\xe8\x98\xad", "\xef\xa4\x9f"},                                     /* U+F91F compatibility ideograph */
    };
    static const char *const models[] = {"cls", "reg"};
    for (int mi = 0; mi < 2; mi++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", fixtures(), models[mi]);
        aisle_bert *m;
        assert_ok(aisle_bert_import(&m, dir, NULL));
        for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
            uint32_t a[64], b[64];
            size_t na, nb;
            assert_ok(aisle_bert_tokenize(m, same[i][0], NULL, NULL, a, NULL, 64, &na));
            assert_ok(aisle_bert_tokenize(m, same[i][1], NULL, NULL, b, NULL, 64, &nb));
            if (na != nb || memcmp(a, b, na * sizeof *a))
                fail_msg("%s: '%s' and '%s' tokenize differently", models[mi], same[i][0], same[i][1]);
        }
        aisle_bert_free(m);
    }
}

/* ---- batching and the int8 kernels ---- */

static uint64_t trng = 0x9e3779b97f4a7c15ull;
static float trand(void) { /* uniform in [-1, 1) */
    trng ^= trng << 13;
    trng ^= trng >> 7;
    trng ^= trng << 17;
    return (float)((trng >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

/* Dynamic quantisation: 7-bit codes, 0 exact, every value within half a step. */
static void test_int8_quantize_row(void **state) {
    (void)state;
    float x[77], s;
    uint8_t q[77];
    int32_t z;
    for (int i = 0; i < 77; i++) x[i] = 3.0f * trand() + 1.0f;
    x[5] = 0.0f;
    bert_quantize_row(x, 77, q, &s, &z);
    assert_true(s > 0 && z >= 0 && z <= 127);
    for (int i = 0; i < 77; i++) {
        assert_true(q[i] <= 127);
        assert_true(fabs(((int)q[i] - z) * s - x[i]) <= 0.5 * s + 1e-6);
    }
    assert_int_equal(q[5], z);
    /* all zeros: scale 0, codes 0 */
    memset(x, 0, sizeof x);
    bert_quantize_row(x, 77, q, &s, &z);
    assert_true(s == 0.0f && z == 0 && q[3] == 0);
    /* all positive: zero point 0, the max maps to 127 */
    for (int i = 0; i < 77; i++) x[i] = 0.5f + (float)i;
    bert_quantize_row(x, 77, q, &s, &z);
    assert_int_equal(z, 0);
    assert_int_equal(q[76], 127);
    /* a long row (the vector path where the CPU has one, then a tail):
     * each code is rintf(x * inv + z) clamped, in float as documented, the
     * range min/max exact */
    enum { NL = 1000 };
    float xl[NL], lo = 0, hi = 0;
    uint8_t ql[NL];
    for (int i = 0; i < NL; i++) {
        xl[i] = 5.0f * trand() - 1.0f;
        lo = fminf(lo, xl[i]), hi = fmaxf(hi, xl[i]);
    }
    bert_quantize_row(xl, NL, ql, &s, &z);
    assert_true(s == (hi - lo) / 127.0f);
    float inv = 1.0f / s;
    for (int i = 0; i < NL; i++) {
        float v = rintf(xl[i] * inv + (float)z);
        v = v < 0 ? 0 : v > 127 ? 127 : v;
        if (ql[i] != (uint8_t)v) fail_msg("x[%d] = %g: code %d, want %d", i, xl[i], ql[i], (int)v);
    }
}

/* The int8 product: every kernel this CPU runs (scalar, AVX2, AVX-VNNI,
 * AVX-512 VNNI) and any thread count give the same bits; the result is the
 * exact product of the dequantised operands (up to float rounding).
 * Shapes with remainders in every direction: tokens % 6 and % 96 (a
 * kernel call's and a tile's tokens), rows % 16 and % 64 (a panel's and a
 * tile's rows), cols % 4 (a packed group). */
static void test_int8_gemm_kernels(void **state) {
    (void)state;
    static const size_t shapes[][3] = {{13, 37, 77}, {64, 64, 96}, {70, 130, 33}, {1, 1, 1},  {5, 3, 31},
                                       {97, 80, 64}, {200, 17, 258}, {6, 48, 5},  {101, 200, 130}};
    static const char *const names[] = {"scalar", "AVX2", "AVX-VNNI", "AVX-512 VNNI"};
    int best = bert_int8_kernel_best();
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        size_t n = shapes[si][0], R = shapes[si][1], K = shapes[si][2], lda = bert_int8_stride(K);
        bert_mat W;
        assert_ok(bert_mat_alloc(&W, (uint32_t)R, (uint32_t)K));
        for (size_t i = 0; i < R * K; i++) W.f[i] = trand() * (1.0f + (float)(i % 7));
        assert_ok(bert_mat_encode(&W, IO_QUANT_INT8));
        float *x = malloc(n * K * sizeof *x), *xs = malloc(n * sizeof *xs), *y1 = malloc(n * R * sizeof *y1),
              *y2 = malloc(n * R * sizeof *y2), *y3 = malloc(n * R * sizeof *y3), *wr = malloc(K * sizeof *wr);
        uint8_t *xq = malloc(n * lda);
        int32_t *xz = malloc(n * sizeof *xz);
        memset(xq, 0xff, n * lda); /* the row padding meets zero weights: any bytes do */
        for (size_t i = 0; i < n * K; i++) x[i] = 4.0f * trand() + (i % 3 ? 0.5f : -0.25f);
        for (size_t t = 0; t < n; t++) bert_quantize_row(x + t * K, K, xq + t * lda, xs + t, xz + t);
        assert_ok(bert_gemm_int8(&W, xq, xs, xz, n, y1, 1, BERT_KERNEL_SCALAR));
        assert_ok(bert_gemm_int8(&W, xq, xs, xz, n, y2, 3, BERT_KERNEL_SCALAR));
        assert_memory_equal(y1, y2, n * R * sizeof *y1);
        for (int k = BERT_KERNEL_AVX2; k <= best; k++) {
            memset(y3, 0, n * R * sizeof *y3);
            assert_ok(bert_gemm_int8(&W, xq, xs, xz, n, y3, 1 + k % 2, k));
            if (memcmp(y1, y3, n * R * sizeof *y1) != 0) fail_msg("shape %zu: %s kernel differs from scalar", si, names[k]);
        }
        if (si == 0) {
            print_message("    int8 kernels checked against the scalar one:");
            for (int k = BERT_KERNEL_AVX2; k <= best; k++) print_message(" %s", names[k]);
            print_message("%s\n", best == BERT_KERNEL_SCALAR ? " none (no AVX2 on this CPU)" : "");
        }
        for (size_t r = 0; r < R; r++) {
            bert_mat_row(&W, (uint32_t)r, wr);
            for (size_t t = 0; t < n; t++) {
                double want = 0, mag = 0;
                for (size_t k = 0; k < K; k++) {
                    double a = ((int)xq[t * lda + k] - xz[t]) * (double)xs[t], w = wr[k];
                    want += a * w;
                    mag += fabs(a * w);
                }
                if (fabs(y1[t * R + r] - want) > 1e-5 * (mag + 1))
                    fail_msg("shape %zu: y[%zu][%zu] = %g, exact %g", si, t, r, y1[t * R + r], want);
            }
        }
        bert_mat_free(&W);
        free(x), free(xs), free(y1), free(y2), free(y3), free(wr), free(xq), free(xz);
    }
}

/* GELU against erff's: within 1e-6 (relative beyond 1) on [-12, 12],
 * vector and tail elements alike. */
static void test_gelu(void **state) {
    (void)state;
    enum { N = 24003 };
    float *r = malloc(N * sizeof *r), *bias = malloc(N * sizeof *bias);
    for (int i = 0; i < N; i++) {
        r[i] = -12.0f + 24.0f * (float)i / N;
        bias[i] = i % 5 ? 0.0f : 1e-3f;
    }
    bert_gelu(r, bias, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double v = (double)(-12.0f + 24.0f * (float)i / N) + (i % 5 ? 0.0 : 1e-3);
        double want = 0.5 * v * (1.0 + erf(v / sqrt(2.0))), err = fabs(r[i] - want) / fmax(1.0, fabs(want));
        worst = fmax(worst, err);
        if (err > 1e-6) fail_msg("gelu(%g) = %.9g, want %.9g", v, r[i], want);
    }
    print_message("    gelu: worst error %.3g against erf in double\n", worst);
    free(r), free(bias);
}

/* The packed int8 layout round-trips: bert_mat_row gives back each row's
 * codes times its scale, and the rows' sums are the codes' sums. */
static void test_int8_packed_rows(void **state) {
    (void)state;
    static const uint32_t shapes[][2] = {{1, 1}, {17, 5}, {33, 64}, {16, 3}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        uint32_t R = shapes[si][0], K = shapes[si][1];
        bert_mat W;
        assert_ok(bert_mat_alloc(&W, R, K));
        /* codes in -127..127 with 127 in every row: the row's scale is 1 */
        for (size_t i = 0; i < (size_t)R * K; i++) W.f[i] = i % K ? (float)((int)(i * 37 % 255) - 127) : 127.0f;
        assert_ok(bert_mat_encode(&W, IO_QUANT_INT8));
        float row[64];
        for (uint32_t r = 0; r < R; r++) {
            bert_mat_row(&W, r, row);
            int32_t sum = 0;
            for (uint32_t k = 0; k < K; k++) {
                int want = k ? (int)(((size_t)r * K + k) * 37 % 255) - 127 : 127;
                int code = (int)lrintf(row[k] / W.scale[r]);
                if (code != want) fail_msg("%ux%u: row %u col %u: %d, want %d", R, K, r, k, code, want);
                sum += code;
            }
            assert_int_equal(sum, W.qsum[r]);
        }
        /* the padding (rows up to a whole panel, cols up to 4) is zero */
        for (size_t r = R; r < (R + BERT_PANEL - 1) / BERT_PANEL * BERT_PANEL; r++)
            for (size_t k = 0; k < bert_int8_stride(K); k++) assert_int_equal(*bert_int8_at(W.q, K, r, k), 0);
        for (size_t k = K; k < bert_int8_stride(K); k++) assert_int_equal(*bert_int8_at(W.q, K, 0, k), 0);
        bert_mat_free(&W);
    }
}

/* fp16 widening: F16C (where the CPU has it) and the portable conversion
 * agree on every finite and infinite half. */
static void test_f16_widen(void **state) {
    (void)state;
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof *h);
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    for (size_t i = 0; i < N; i++) h[i] = (uint16_t)i;
    bert_f16_widen(h, N - 3, a, false); /* a length that leaves a tail */
    bert_f16_widen(h, N - 3, b, bert_cpu_f16c());
    for (size_t i = 0; i < N - 3; i++) {
        if (isnan(a[i])) {
            assert_true(isnan(b[i]));
            continue;
        }
        if (memcmp(a + i, b + i, sizeof *a) != 0) fail_msg("half 0x%04zx: %g and %g", i, a[i], b[i]);
        assert_true(a[i] == io_f16_to_f32(h[i]));
    }
    print_message("    fp16 widening checked: %s\n", bert_cpu_f16c() ? "F16C against the portable one" : "portable only (no F16C)");
    free(h), free(a), free(b);
}

/* Texts batched in one call give what one call per text gives (the
 * packing only changes which sgemm rows a token is), within float noise;
 * the int8 model gives the same bits with the scalar and AVX2 kernels and
 * any thread count, and stays close to fp32 (the bound the save/load test
 * uses for int8). */
static void test_batched_forward(void **state) {
    (void)state;
    char src[1100], dir[512], path[1100];
    snprintf(src, sizeof src, "%s/cls", fixtures());
    aisle_bert *m, *q;
    assert_ok(aisle_bert_import(&m, src, NULL));
    enum { NT = 9 };
    const char *texts[NT] = {"The shop sells running shoes.", "great 👍🏽 shoes", "我喜欢这家商店", "Café à Paris",
                             "a", "where is my order? it was due on monday and nothing came",
                             "xylophonequux unknownword", "Ünïcödé ÀÉÎÕÜ", "x y z"};
    const char *pairs_b[NT] = {"b", "shoes for trail running", "商店", "Paris", "", "order 42", "q", "ü", "z y x"};
    aisle_config *c1 = cfg_len(0, 1), *c3 = cfg_len(0, 3);
    float all[NT * 64], one[64], pa[NT * 3], p1[3];
    assert_ok(aisle_bert_embed(m, texts, NT, AISLE_BERT_POOL_MEAN, c3, all));
    assert_ok(aisle_bert_classify(m, texts, pairs_b, NT, c3, pa));
    for (int i = 0; i < NT; i++) {
        assert_ok(aisle_bert_embed(m, texts + i, 1, AISLE_BERT_POOL_MEAN, c1, one));
        for (int k = 0; k < 64; k++)
            if (fabs(one[k] - all[i * 64 + k]) > 1e-5) fail_msg("text %d dim %d: %g alone, %g batched", i, k, one[k], all[i * 64 + k]);
        assert_ok(aisle_bert_classify(m, texts + i, pairs_b + i, 1, c1, p1));
        for (int k = 0; k < 3; k++) assert_true(fabs(p1[k] - pa[i * 3 + k]) < 1e-5);
    }
    /* int8 */
    tu_tmpdir(dir, sizeof dir, "bert_batch");
    snprintf(path, sizeof path, "%s/q.aisle", dir);
    aisle_config *qc;
    assert_ok(aisle_config_new(&qc));
    assert_ok(aisle_config_set(qc, "quantize", "int8"));
    assert_ok(aisle_bert_save(m, path, qc));
    aisle_config_free(qc);
    assert_ok(aisle_bert_load(&q, path, NULL));
    float a8[NT * 64], b8[NT * 64], c8[NT * 64];
    assert_ok(aisle_bert_embed(q, texts, NT, AISLE_BERT_POOL_POOLER, c3, a8));
    assert_ok(aisle_bert_embed(q, texts, NT, AISLE_BERT_POOL_POOLER, c1, b8));
    assert_memory_equal(a8, b8, sizeof a8);
    int best = q->int8_kernel;
    for (int k = BERT_KERNEL_SCALAR; k < best; k++) {
        q->int8_kernel = k;
        assert_ok(aisle_bert_embed(q, texts, NT, AISLE_BERT_POOL_POOLER, c3, c8));
        assert_memory_equal(a8, c8, sizeof a8);
    }
    q->int8_kernel = best;
    float f32[NT * 64];
    assert_ok(aisle_bert_embed(m, texts, NT, AISLE_BERT_POOL_POOLER, c1, f32));
    double worst = 0;
    for (int k = 0; k < NT * 64; k++) worst = fmax(worst, fabs(f32[k] - a8[k]));
    if (!(worst > 0 && worst < 0.1)) fail_msg("int8 pooled output differs from fp32 by %g", worst);
    /* hidden of one text = the batch's cls pooling of it */
    size_t nt;
    static float hid[512 * 64];
    assert_ok(aisle_bert_hidden(m, texts[5], NULL, c3, hid, 512, &nt));
    assert_ok(aisle_bert_embed(m, texts, NT, AISLE_BERT_POOL_CLS, c3, all));
    for (int k = 0; k < 64; k++) assert_true(fabs(hid[k] - all[5 * 64 + k]) < 1e-5);
    aisle_config_free(c1);
    aisle_config_free(c3);
    aisle_bert_free(m);
    aisle_bert_free(q);
}

/* ---- bad input ---- */

static void copy_file(const char *from, const char *to, size_t truncate_to) {
    FILE *f = fopen(from, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    tu_write_file(to, buf, truncate_to && truncate_to < (size_t)n ? truncate_to : (size_t)n);
    free(buf);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A copy of the cls fixture in a scratch dir. */
static void fresh_copy(char *dir, size_t len, const char *name) {
    tu_tmpdir(dir, len, name);
    static const char *const files[] = {"config.json", "vocab.txt", "model.safetensors"};
    for (int i = 0; i < 3; i++) {
        char a[1200], b[1200];
        snprintf(a, sizeof a, "%s/cls/%s", fixtures(), files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        copy_file(a, b, 0);
    }
}

/* Replaces the first occurrence of `from` in file with `to`. */
static void edit(const char *dir, const char *file, const char *from, const char *to) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t n;
    char *s = slurp(path, &n);
    char *at = memmem(s, n, from, strlen(from));
    if (!at) fail_msg("%s: '%s' not found", path, from);
    size_t fl = strlen(from), tl = strlen(to);
    char *o = malloc(n - fl + tl + 1);
    memcpy(o, s, (size_t)(at - s));
    memcpy(o + (at - s), to, tl);
    memcpy(o + (at - s) + tl, at + fl, n - (size_t)(at - s) - fl);
    tu_write_file(path, o, n - fl + tl);
    free(o);
    free(s);
}

static void expect_import(const char *dir, int code, const char *n1, const char *n2) {
    aisle_bert *m = NULL;
    int rc = aisle_bert_import(&m, dir, NULL);
    if (rc != code) fail_msg("import %s -> %d, expected %d: %s", dir, rc, code, aisle_last_error());
    assert_null(m);
    if (n1 && !strstr(aisle_last_error(), n1)) fail_msg("message '%s' lacks '%s'", aisle_last_error(), n1);
    if (n2 && !strstr(aisle_last_error(), n2)) fail_msg("message '%s' lacks '%s'", aisle_last_error(), n2);
}

static void test_bad_checkpoints(void **state) {
    (void)state;
    char dir[512], a[1200], b[1200];
    /* truncated safetensors: at every kind of place */
    snprintf(a, sizeof a, "%s/cls/model.safetensors", fixtures());
    size_t full;
    free(slurp(a, &full));
    size_t cuts[] = {3, 8, 100, full / 2, full - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        fresh_copy(dir, sizeof dir, "bert_bad");
        snprintf(b, sizeof b, "%s/model.safetensors", dir);
        copy_file(a, b, cuts[i]);
        expect_import(dir, AISLE_EFORMAT, "model.safetensors", NULL);
    }
    /* header lying about offsets: a tensor pointing past the data */
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "model.safetensors", "\"data_offsets\": [0, ", "\"data_offsets\": [9, ");
    expect_import(dir, AISLE_EFORMAT, "model.safetensors", "data_offsets");
    /* header lying about a dtype */
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "model.safetensors", "\"F32\"", "\"F16\"");
    expect_import(dir, AISLE_EFORMAT, "model.safetensors", "data_offsets");
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "model.safetensors", "\"F32\"", "\"I64\"");
    expect_import(dir, AISLE_EFORMAT, "dtype", NULL);
    /* huge shape */
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "model.safetensors", "\"shape\": [500, 64]", "\"shape\": [9e15, 64]");
    expect_import(dir, AISLE_EFORMAT, "shape", NULL);
    /* header length beyond the file */
    fresh_copy(dir, sizeof dir, "bert_bad");
    {
        snprintf(b, sizeof b, "%s/model.safetensors", dir);
        size_t n;
        char *s = slurp(b, &n);
        s[5] = 0x7f;
        tu_write_file(b, s, n);
        free(s);
    }
    expect_import(dir, AISLE_EFORMAT, "header length", NULL);
    /* config not matching the tensors */
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"hidden_size\": 64", "\"hidden_size\": 32");
    expect_import(dir, AISLE_EFORMAT, "word_embeddings", "config.json");
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
    expect_import(dir, AISLE_EFORMAT, "num_hidden_layers", NULL);
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3");
    expect_import(dir, AISLE_EFORMAT, "encoder.layer.2", "missing");
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"hidden_size\": 64", "\"hidden_size\": \"64\"");
    expect_import(dir, AISLE_EFORMAT, "hidden_size", "config.json");
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
    expect_import(dir, AISLE_EFORMAT, "num_attention_heads", NULL);
    /* an eps that is positive as a double but 0 as a float (fuzz finding) */
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 1e-92");
    expect_import(dir, AISLE_EFORMAT, "layer_norm_eps", NULL);
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"gelu\"", "\"relu\"");
    expect_import(dir, AISLE_EUNSUPPORTED, "hidden_act", NULL);
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "{", "{{");
    expect_import(dir, AISLE_EFORMAT, "config.json", "JSON");
    fresh_copy(dir, sizeof dir, "bert_bad");
    edit(dir, "config.json", "\"vocab_size\": 500", "\"vocab_size\": 400");
    expect_import(dir, AISLE_EFORMAT, "vocab", NULL);
    /* vocab without the special tokens */
    static const char *const specials[] = {"[UNK]\n", "[CLS]\n", "[SEP]\n"};
    for (int i = 0; i < 3; i++) {
        fresh_copy(dir, sizeof dir, "bert_bad");
        edit(dir, "vocab.txt", specials[i], "[XXX]\n");
        char want[16];
        snprintf(want, sizeof want, "%.5s", specials[i]);
        expect_import(dir, AISLE_EFORMAT, "vocab.txt", want);
    }
    /* a missing file */
    fresh_copy(dir, sizeof dir, "bert_bad");
    snprintf(b, sizeof b, "%s/vocab.txt", dir);
    remove(b);
    expect_import(dir, AISLE_ENOTFOUND, "vocab.txt", NULL);
    /* texts: max_length beyond the positions, and a long text truncated */
    aisle_bert *m;
    snprintf(a, sizeof a, "%s/cls", fixtures());
    assert_ok(aisle_bert_import(&m, a, NULL));
    aisle_config *cfg = cfg_len(65, 1);
    float out[64];
    const char *t[1] = {"hello"};
    assert_status_msg(aisle_bert_embed(m, t, 1, AISLE_BERT_POOL_CLS, cfg, out), AISLE_ERANGE, "max_position");
    aisle_config_free(cfg);
    char *longtext = malloc(20001);
    for (int i = 0; i < 10000; i++) memcpy(longtext + 2 * i, "a ", 2);
    longtext[20000] = '\0';
    t[0] = longtext;
    size_t n;
    assert_ok(aisle_bert_tokenize(m, longtext, NULL, NULL, NULL, NULL, 0, &n) == AISLE_ERANGE ? AISLE_OK : -1);
    assert_int_equal(n, 64);
    assert_ok(aisle_bert_embed(m, t, 1, AISLE_BERT_POOL_MEAN, NULL, out));
    free(longtext);
    /* NULLs */
    assert_int_equal(aisle_bert_embed(m, NULL, 1, AISLE_BERT_POOL_CLS, NULL, out), AISLE_EINVAL);
    assert_int_equal(aisle_bert_embed(m, t, 1, 7, NULL, out), AISLE_EINVAL);
    assert_int_equal(aisle_bert_import(NULL, a, NULL), AISLE_EINVAL);
    aisle_bert_free(NULL);
    aisle_bert_free(m);
}

/* A model file of another kind, and corrupt bert model files. */
static void test_bad_model_files(void **state) {
    (void)state;
    char dir[512], src[1100], path[1100];
    tu_tmpdir(dir, sizeof dir, "bert_badfile");
    snprintf(src, sizeof src, "%s/cls", fixtures());
    aisle_bert *m, *l = NULL;
    assert_ok(aisle_bert_import(&m, src, NULL));
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    assert_ok(aisle_bert_save(m, path, NULL));
    aisle_bert_free(m);
    size_t n;
    char *img = slurp(path, &n);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < n; cut += n / 37 + 1) {
        tu_write_file(path, img, cut);
        assert_int_not_equal(aisle_bert_load(&l, path, NULL), AISLE_OK);
        assert_null(l);
    }
    /* flipped bytes: never a crash; either an error or a loadable model */
    for (size_t at = 0; at < n; at += n / 53 + 1) {
        img[at] ^= 0x5a;
        tu_write_file(path, img, n);
        if (aisle_bert_load(&l, path, NULL) == AISLE_OK) aisle_bert_free(l);
        l = NULL;
        img[at] ^= 0x5a;
    }
    free(img);
    /* an als model is not a bert model */
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "u1", "i1", "view", 1, 1));
    assert_ok(aisle_dataset_add_event(ds, "u1", "i2", "view", 1, 2));
    assert_ok(aisle_dataset_add_event(ds, "u2", "i1", "view", 1, 3));
    aisle_model *pm = tu_train(ds, "model=popular");
    assert_ok(aisle_model_save(pm, path, NULL));
    assert_status_msg(aisle_bert_load(&l, path, NULL), AISLE_EUNSUPPORTED, "not a bert model");
    aisle_model_free(pm);
    aisle_dataset_free(ds);
}



/* Head fine-tuning: a new 2-class head fits a small labelled set (the
 * encoder is random, so this checks the training code path, not accuracy
 * on real text), survives save/load, and a regression head fits targets. */
static void test_finetune_head(void **state) {
    (void)state;
    char src[1100], dir[512], path[1100];
    snprintf(src, sizeof src, "%s/cls", fixtures());
    tu_tmpdir(dir, sizeof dir, "bert_ft");
    aisle_bert *m;
    assert_ok(aisle_bert_import(&m, src, NULL));
    const char *texts[8] = {"running shoes", "red shoes", "shoes for the shop", "great shoes",
                            "a jacket", "the world", "Paris café", "hello there"};
    const char *bs[8] = {"x", "y", "x", "y", "x", "y", "x", "y"};
    float labels[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "head_epochs=300 head_learning_rate=0.05 threads=2"));
    double loss;
    assert_ok(aisle_bert_finetune_head(m, texts, bs, labels, 8, 2, cfg, &loss));
    assert_true(loss < 0.1);
    size_t nl;
    assert_ok(aisle_bert_info(m, NULL, &nl, NULL, NULL));
    assert_int_equal(nl, 2);
    float p[16], p2[16];
    assert_ok(aisle_bert_classify(m, texts, bs, 8, cfg, p));
    for (int i = 0; i < 8; i++) assert_true(p[2 * i + (int)labels[i]] > 0.5f);
    snprintf(path, sizeof path, "%s/ft.aisle", dir);
    assert_ok(aisle_bert_save(m, path, NULL));
    aisle_bert *l;
    assert_ok(aisle_bert_load(&l, path, NULL));
    assert_ok(aisle_bert_classify(l, texts, bs, 8, cfg, p2));
    assert_memory_equal(p, p2, sizeof p);
    aisle_bert_free(l);
    /* regression head */
    float y[8] = {4.5f, 4.0f, 5.0f, 3.5f, 1.0f, 2.0f, 1.5f, 2.5f};
    assert_ok(aisle_bert_finetune_head(m, texts, NULL, y, 8, 1, cfg, &loss));
    assert_ok(aisle_bert_classify(m, texts, NULL, 8, cfg, p));
    for (int i = 0; i < 8; i++) assert_true(fabsf(p[i] - y[i]) < 0.5f);
    /* bad labels leave the model unchanged */
    float bad[2] = {0, 3};
    assert_status_msg(aisle_bert_finetune_head(m, texts, NULL, bad, 2, 2, cfg, NULL), AISLE_ERANGE, "label 1");
    assert_ok(aisle_bert_info(m, NULL, &nl, NULL, NULL));
    assert_int_equal(nl, 1);
    aisle_config_free(cfg);
    aisle_bert_free(m);
}


/* Smoke test of the head training path on real messages (bitext-cs, 11
 * categories) with the random fixture encoder: it must run and report a
 * finite loss; the accuracy it prints means nothing without real
 * pretrained weights (docs/BERT.md). */
static void test_finetune_bitext_smoke(void **state) {
    (void)state;
    char path[1024];
    if (!tu_shared_file(path, sizeof path, "bitext-cs/Bitext_Sample_Customer_Service_Training_Dataset.csv")) {
        printf("    (bitext-cs not found under the shared data: smoke test skipped)\n");
        return;
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    enum { MAX = 300 };
    char *texts[MAX], cats[16][64], line[4096];
    float labels[MAX];
    int n = 0, ncat = 0, row = 0;
    while (n < MAX && fgets(line, sizeof line, f)) {
        if (row++ == 0 || (row % 7) != 0) continue; /* header; every 7th row spreads over the categories */
        /* flags,utterance,category,intent without quoted fields */
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL, *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
        if (!c3 || line[0] == '"' || c1[1] == '"') continue;
        *c2 = '\0';
        *c3 = '\0';
        int k;
        for (k = 0; k < ncat && strcmp(cats[k], c2 + 1); k++) {}
        if (k == ncat) {
            if (ncat == 16) continue;
            snprintf(cats[ncat++], sizeof cats[0], "%s", c2 + 1);
        }
        texts[n] = strdup(c1 + 1);
        labels[n++] = (float)k;
    }
    fclose(f);
    assert_true(n > 50 && ncat >= 2);
    char src[1100];
    snprintf(src, sizeof src, "%s/cls", fixtures());
    aisle_bert *m;
    assert_ok(aisle_bert_import(&m, src, NULL));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "head_epochs=30 threads=2"));
    double loss;
    assert_ok(aisle_bert_finetune_head(m, (const char *const *)texts, NULL, labels, (size_t)n, (size_t)ncat, cfg, &loss));
    assert_true(isfinite(loss));
    float *p = malloc(sizeof(float) * (size_t)n * (size_t)ncat);
    assert_ok(aisle_bert_classify(m, (const char *const *)texts, NULL, (size_t)n, cfg, p));
    int right = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < ncat; k++) best = p[i * ncat + k] > p[i * ncat + best] ? k : best;
        right += best == (int)labels[i];
    }
    printf("    bitext-cs smoke: %d messages, %d categories, training accuracy %.2f, loss %.3f "
           "(random encoder: not a quality figure)\n", n, ncat, (double)right / n, loss);
    /* and the top layer with the head (finetune_layers) */
    aisle_bert *m2;
    assert_ok(aisle_bert_import(&m2, src, NULL));
    assert_ok(aisle_config_parse(cfg, "finetune_layers=1 finetune_learning_rate=0.001 head_epochs=5"));
    double loss2;
    assert_ok(aisle_bert_finetune_head(m2, (const char *const *)texts, NULL, labels, (size_t)n, (size_t)ncat, cfg,
                                       &loss2));
    assert_true(isfinite(loss2));
    printf("    bitext-cs smoke, top layer + head, 5 epochs: loss %.3f (random encoder: not a quality figure)\n",
           loss2);
    aisle_bert_free(m2);
    free(p);
    for (int i = 0; i < n; i++) free(texts[i]);
    aisle_config_free(cfg);
    aisle_bert_free(m);
}

/* ---- allocation failure: import, forward, save and load ---- */

/* The shared allocation-failure sweep (tests/util), with its count. */
static void until_success(const char *what, tu_oom_step step, void *ctx) {
    uint64_t points = tu_oom_sweep(what, step, ctx, 1, 0, 100000);
    print_message("bert %-8s %llu failure points\n", what, (unsigned long long)points);
}

typedef struct {
    char dir[1100], file[1100];
    aisle_bert *m;
} oom_ctx;

static int oom_import(void *p) {
    oom_ctx *c = p;
    aisle_bert *m;
    int rc = aisle_bert_import(&m, c->dir, NULL);
    if (!rc) aisle_bert_free(m);
    return rc;
}

static int oom_forward(void *p) {
    oom_ctx *c = p;
    const char *a[2] = {"Café crème, 中文 and running shoes!", "xylophonequux"}, *b[2] = {"a pair", "another"};
    float out[2 * 64];
    aisle_config *cfg;
    int rc = aisle_config_new(&cfg);
    if (rc) return rc;
    rc = aisle_config_set_int(cfg, "threads", 1); /* the counting test allocator is not thread-safe */
    if (!rc) rc = aisle_bert_embed(c->m, a, 2, AISLE_BERT_POOL_MEAN, cfg, out);
    if (!rc) rc = aisle_bert_classify(c->m, a, b, 2, cfg, out);
    aisle_config_free(cfg);
    return rc;
}

static int oom_save_load(void *p) {
    oom_ctx *c = p;
    aisle_config *cfg;
    int rc = aisle_config_new(&cfg);
    if (rc) return rc;
    rc = aisle_config_set(cfg, "quantize", "int8");
    if (!rc) rc = aisle_bert_save(c->m, c->file, cfg);
    aisle_config_free(cfg);
    aisle_bert *l;
    if (!rc) rc = aisle_bert_load(&l, c->file, NULL);
    if (!rc) { /* and the int8 forward */
        const char *a[2] = {"running shoes", "Café"};
        float out[2 * 64];
        aisle_config *one = NULL;
        rc = aisle_config_new(&one);
        if (!rc) rc = aisle_config_set_int(one, "threads", 1);
        if (!rc) rc = aisle_bert_embed(l, a, 2, AISLE_BERT_POOL_POOLER, one, out);
        aisle_config_free(one);
        aisle_bert_free(l);
    }
    return rc;
}

static int oom_finetune_with(oom_ctx *c, const char *opts) {
    const char *a[3] = {"good shoes", "bad shoes", "a jacket"};
    float y[3] = {1, 0, 2};
    aisle_config *cfg;
    int rc = aisle_config_new(&cfg);
    if (rc) return rc;
    rc = aisle_config_parse(cfg, opts);
    /* num_labels 0 continues the imported head: a new head would also free
     * its label names, allocated before the sweep's count began */
    if (!rc) rc = aisle_bert_finetune_head(c->m, a, NULL, y, 3, 0, cfg, NULL);
    aisle_config_free(cfg);
    return rc;
}

static int oom_finetune(void *p) { return oom_finetune_with(p, "head_epochs=2 threads=1"); }
/* the last layers too (tune.c) */
static int oom_finetune_layers(void *p) { return oom_finetune_with(p, "head_epochs=2 finetune_layers=2 threads=1"); }

static void test_allocation_failures(void **state) {
    (void)state;
    oom_ctx c;
    char tmp[512];
    snprintf(c.dir, sizeof c.dir, "%s/cls", fixtures());
    tu_tmpdir(tmp, sizeof tmp, "bert_oom");
    snprintf(c.file, sizeof c.file, "%s/m.aisle", tmp);
    until_success("import", oom_import, &c);
    assert_ok(aisle_bert_import(&c.m, c.dir, NULL));
    until_success("forward", oom_forward, &c);
    until_success("save+load", oom_save_load, &c);
    until_success("finetune", oom_finetune, &c);
    until_success("finetune layers", oom_finetune_layers, &c);
    aisle_bert_free(c.m);
}

int main(void) {
    tu_filter_from_env(); /* make check-tsan runs the threads test alone */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parser),         cmocka_unit_test(test_reference_committed), cmocka_unit_test(test_reference_live),
        cmocka_unit_test(test_save_load),           cmocka_unit_test(test_bad_checkpoints),
        cmocka_unit_test(test_bad_model_files),     cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_finetune_head),       cmocka_unit_test(test_finetune_bitext_smoke),
        cmocka_unit_test(test_int8_quantize_row),   cmocka_unit_test(test_int8_gemm_kernels), cmocka_unit_test(test_int8_packed_rows), cmocka_unit_test(test_gelu), cmocka_unit_test(test_f16_widen),
        cmocka_unit_test(test_batched_forward),     cmocka_unit_test(test_tokenizer_nfc),
        cmocka_unit_test(test_threads_match_one_thread_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
