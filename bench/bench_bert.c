/* bench_bert.c - speed of a BERT-base-sized encoder (12 layers x 768
 * hidden x 12 heads, intermediate 3072, vocab 30522) on 128-token inputs,
 * against PyTorch (bench/bert_torch.py, fp32, the same checkpoint and
 * token ids) in the same run: texts per second on 1 and 2 threads for
 * aisle fp32 and int8 weights, the int8 accuracy loss (cosine and max
 * difference of the pooled output against fp32), and the loaded model's
 * memory against the checkpoint size.
 *
 * The random checkpoint is written on the fly (config.json, vocab.txt,
 * model.safetensors under build/bench_bert/), so no data is needed.
 * Python: $AISLE_PYTHON, else /usr/bin/python3, else python3 - the first
 * that imports torch; none: the torch column is skipped with a message.
 *
 *   build/release/bench/bench_bert [texts (default 8)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aisle.h"

enum { LAYERS = 12, HIDDEN = 768, HEADS = 12, INTER = 3072, VOCAB = 30522, MAXPOS = 512, SEQ = 128 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ull;
static double unif(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(float std) { return (float)(std * sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif())); }

typedef struct {
    char name[112];
    long rows, cols; /* cols 0: vector */
    int kind;        /* 0 random, 1 ones, 2 zeros */
} tdesc;

static int add(tdesc *t, int n, const char *name, long rows, long cols, int kind) {
    snprintf(t[n].name, sizeof t[n].name, "bert.%s", name);
    t[n].rows = rows, t[n].cols = cols, t[n].kind = kind;
    return n + 1;
}

static int write_checkpoint(const char *dir) {
    char path[512];
    static tdesc t[300];
    int n = 0;
    n = add(t, n, "embeddings.word_embeddings.weight", VOCAB, HIDDEN, 0);
    n = add(t, n, "embeddings.position_embeddings.weight", MAXPOS, HIDDEN, 0);
    n = add(t, n, "embeddings.token_type_embeddings.weight", 2, HIDDEN, 0);
    n = add(t, n, "embeddings.LayerNorm.weight", HIDDEN, 0, 1);
    n = add(t, n, "embeddings.LayerNorm.bias", HIDDEN, 0, 2);
    for (int l = 0; l < LAYERS; l++) {
        char b[96];
        static const char *const sq[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                         "attention.output.dense"};
        for (int i = 0; i < 4; i++) {
            snprintf(b, sizeof b, "encoder.layer.%d.%s.weight", l, sq[i]);
            n = add(t, n, b, HIDDEN, HIDDEN, 0);
            snprintf(b, sizeof b, "encoder.layer.%d.%s.bias", l, sq[i]);
            n = add(t, n, b, HIDDEN, 0, 0);
        }
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
        n = add(t, n, b, HIDDEN, 0, 1);
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
        n = add(t, n, b, HIDDEN, 0, 2);
        snprintf(b, sizeof b, "encoder.layer.%d.intermediate.dense.weight", l);
        n = add(t, n, b, INTER, HIDDEN, 0);
        snprintf(b, sizeof b, "encoder.layer.%d.intermediate.dense.bias", l);
        n = add(t, n, b, INTER, 0, 0);
        snprintf(b, sizeof b, "encoder.layer.%d.output.dense.weight", l);
        n = add(t, n, b, HIDDEN, INTER, 0);
        snprintf(b, sizeof b, "encoder.layer.%d.output.dense.bias", l);
        n = add(t, n, b, HIDDEN, 0, 0);
        snprintf(b, sizeof b, "encoder.layer.%d.output.LayerNorm.weight", l);
        n = add(t, n, b, HIDDEN, 0, 1);
        snprintf(b, sizeof b, "encoder.layer.%d.output.LayerNorm.bias", l);
        n = add(t, n, b, HIDDEN, 0, 2);
    }
    n = add(t, n, "pooler.dense.weight", HIDDEN, HIDDEN, 0);
    n = add(t, n, "pooler.dense.bias", HIDDEN, 0, 0);
    /* the classifier has no prefix */
    snprintf(t[n].name, sizeof t[n].name, "classifier.weight");
    t[n].rows = 2, t[n].cols = HIDDEN, t[n++].kind = 0;
    snprintf(t[n].name, sizeof t[n].name, "classifier.bias");
    t[n].rows = 2, t[n].cols = 0, t[n++].kind = 2;

    size_t hcap = 64 * 1024, hl = 0;
    char *h = malloc(hcap);
    if (!h) return -1;
    hl += (size_t)snprintf(h + hl, hcap - hl, "{");
    long long off = 0;
    for (int i = 0; i < n; i++) {
        long long bytes = 4LL * t[i].rows * (t[i].cols ? t[i].cols : 1);
        if (t[i].cols)
            hl += (size_t)snprintf(h + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%ld,%ld],\"data_offsets\":[%lld,%lld]}",
                                   i ? "," : "", t[i].name, t[i].rows, t[i].cols, off, off + bytes);
        else
            hl += (size_t)snprintf(h + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%ld],\"data_offsets\":[%lld,%lld]}",
                                   i ? "," : "", t[i].name, t[i].rows, off, off + bytes);
        off += bytes;
    }
    hl += (size_t)snprintf(h + hl, hcap - hl, "}");
    while (hl % 8) h[hl++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t hlen = hl;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(h, 1, hl, f);
    free(h);
    float *buf = malloc(sizeof(float) * HIDDEN * 64);
    for (int i = 0; i < n; i++) {
        long total = t[i].rows * (t[i].cols ? t[i].cols : 1), done = 0;
        float std = t[i].cols ? 0.02f : 0.02f;
        if (strstr(t[i].name, "embeddings.") && t[i].cols) std = 0.5f; /* spread tokens apart */
        while (done < total) {
            long k = total - done < HIDDEN * 64 ? total - done : HIDDEN * 64;
            for (long j = 0; j < k; j++) buf[j] = t[i].kind == 1 ? 1.0f : t[i].kind == 2 ? 0.0f : gauss(std);
            fwrite(buf, sizeof(float), (size_t)k, f);
            done += k;
        }
    }
    free(buf);
    if (fclose(f) != 0) return -1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"vocab_size\": %d, \"hidden_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
               "\"intermediate_size\": %d, \"hidden_act\": \"gelu\", \"max_position_embeddings\": %d, "
               "\"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12, \"num_labels\": 2}\n",
            VOCAB, HIDDEN, LAYERS, HEADS, INTER, MAXPOS);
    fclose(f);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int i = 5; i < VOCAB; i++) fprintf(f, "w%d\n", i);
    return fclose(f);
}

static const char *torch_python(void) {
    static const char *const cands[] = {NULL, "/usr/bin/python3", "python3"};
    static char chosen[512];
    const char *env = getenv("AISLE_PYTHON");
    for (int i = 0; i < 3; i++) {
        const char *p = i == 0 ? env : cands[i];
        if (!p || !*p) continue;
        char cmd[700];
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", p);
        if (system(cmd) == 0) {
            snprintf(chosen, sizeof chosen, "%s", p);
            return chosen;
        }
    }
    return NULL;
}

static double run_aisle(aisle_bert *m, const char **texts, int n, int threads, float *out) {
    aisle_config *cfg;
    aisle_config_new(&cfg);
    aisle_config_set_int(cfg, "threads", threads);
    aisle_config_set_int(cfg, "blas_threads", 1); /* `threads` is then all the parallelism, as torch's */
    if (aisle_bert_embed(m, texts, 1, AISLE_BERT_POOL_POOLER, cfg, out) != AISLE_OK) { /* warm-up */
        fprintf(stderr, "bench_bert: %s\n", aisle_last_error());
        exit(1);
    }
    double t0 = now_s();
    if (aisle_bert_embed(m, texts, (size_t)n, AISLE_BERT_POOL_POOLER, cfg, out) != AISLE_OK) {
        fprintf(stderr, "bench_bert: %s\n", aisle_last_error());
        exit(1);
    }
    double dt = now_s() - t0;
    aisle_config_free(cfg);
    return n / dt;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 2) n = 2;
    const char *dir = "build/bench_bert";
    char path[512], cmd[2048];
    mkdir("build", 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("writing a random %d x %d x %d checkpoint to %s ...\n", LAYERS, HIDDEN, HEADS, dir);
        if (write_checkpoint(dir) != 0) {
            fprintf(stderr, "bench_bert: cannot write %s\n", dir);
            return 1;
        }
        stat(path, &st);
    }
    aisle_bert *m32, *m8;
    double t0 = now_s();
    if (aisle_bert_import(&m32, dir, NULL) != AISLE_OK) {
        fprintf(stderr, "bench_bert: import: %s\n", aisle_last_error());
        return 1;
    }
    printf("import: %.2f s\n", now_s() - t0);
    aisle_config *q;
    aisle_config_new(&q);
    aisle_config_set(q, "quantize", "int8");
    snprintf(path, sizeof path, "%s/model_int8.aisle", dir);
    if (aisle_bert_save(m32, path, q) != AISLE_OK || aisle_bert_load(&m8, path, NULL) != AISLE_OK) {
        fprintf(stderr, "bench_bert: int8: %s\n", aisle_last_error());
        return 1;
    }
    aisle_config_free(q);
    size_t b32, b8;
    aisle_bert_memory(m32, &b32);
    aisle_bert_memory(m8, &b8);
    printf("checkpoint model.safetensors: %.1f MB; loaded fp32: %.1f MB; loaded int8: %.1f MB\n",
           st.st_size / 1e6, b32 / 1e6, b8 / 1e6);

    /* n distinct texts of exactly 126 words -> 128 tokens with [CLS]/[SEP] */
    char **texts = malloc((size_t)n * sizeof *texts);
    for (int i = 0; i < n; i++) {
        texts[i] = malloc(126 * 8);
        size_t at = 0;
        for (int w = 0; w < SEQ - 2; w++) at += (size_t)sprintf(texts[i] + at, "%sw%d", w ? " " : "", 5 + (int)(unif() * (VOCAB - 5)));
    }
    size_t ntok;
    uint32_t ids[SEQ];
    aisle_bert_tokenize(m32, texts[0], NULL, NULL, ids, NULL, SEQ, &ntok);
    if (ntok != SEQ) {
        fprintf(stderr, "bench_bert: %zu tokens, expected %d\n", ntok, SEQ);
        return 1;
    }
    /* token ids for torch */
    snprintf(path, sizeof path, "%s/ids.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        aisle_bert_tokenize(m32, texts[i], NULL, NULL, ids, NULL, SEQ, &ntok);
        for (int k = 0; k < SEQ; k++) fprintf(f, "%u%c", ids[k], k + 1 < SEQ ? ' ' : '\n');
    }
    fclose(f);

    float *o32 = malloc(sizeof(float) * (size_t)n * HIDDEN), *o8 = malloc(sizeof(float) * (size_t)n * HIDDEN);
    double a32[3], a8[3];
    for (int th = 1; th <= 2; th++) {
        a32[th] = run_aisle(m32, (const char **)texts, n, th, o32);
        a8[th] = run_aisle(m8, (const char **)texts, n, th, o8);
    }
    double worst = 0, cos_min = 1;
    for (int i = 0; i < n; i++) {
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < HIDDEN; j++) {
            double x = o32[(size_t)i * HIDDEN + j], y = o8[(size_t)i * HIDDEN + j];
            dot += x * y, na += x * x, nb += y * y;
            worst = fmax(worst, fabs(x - y));
        }
        cos_min = fmin(cos_min, dot / sqrt(na * nb));
    }
    double tt[3] = {0, 0, 0};
    const char *py = torch_python();
    if (!py) {
        printf("torch: no python3 with torch found (set AISLE_PYTHON): comparison skipped\n");
    } else {
        for (int th = 1; th <= 2; th++) {
            snprintf(cmd, sizeof cmd, "%s bench/bert_torch.py %s %d", py, dir, th);
            FILE *p = popen(cmd, "r");
            if (!p || fscanf(p, "%lf", &tt[th]) != 1) tt[th] = 0;
            if (p) pclose(p);
        }
    }
    printf("\n%d texts of %d tokens, %d x %d x %d heads; texts/s (higher is better)\n", n, SEQ, LAYERS, HIDDEN, HEADS);
    printf("%-8s %12s %12s %12s %10s %10s\n", "threads", "aisle fp32", "aisle int8", "torch fp32", "fp32/torch",
           "int8/torch");
    for (int th = 1; th <= 2; th++) {
        if (tt[th] > 0)
            printf("%-8d %12.2f %12.2f %12.2f %9.2fx %9.2fx\n", th, a32[th], a8[th], tt[th], a32[th] / tt[th],
                   a8[th] / tt[th]);
        else
            printf("%-8d %12.2f %12.2f %12s %10s %10s\n", th, a32[th], a8[th], "-", "-", "-");
    }
    printf("int8 vs fp32 pooled output: min cosine %.6f, max |diff| %.4g\n", cos_min, worst);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(o32);
    free(o8);
    aisle_bert_free(m32);
    aisle_bert_free(m8);
    return 0;
}
