/* bench_bert.c - speed of a BERT-base-sized encoder (12 layers x 768
 * hidden x 12 heads, intermediate 3072, vocab 30522) on 128-token inputs,
 * against PyTorch (bench/bert_torch.py, fp32, the same checkpoint and
 * token ids) in the same run: texts per second on 1 and 2 threads for
 * aisle fp32, fp16 and int8 weights, the accuracy loss of fp16/int8 against
 * fp32 (classifier logit margin and argmax, pooled output) on 32 texts of
 * mixed lengths, and the loaded model's memory against the checkpoint.
 *
 * The random checkpoint is written on the fly (config.json, vocab.txt,
 * model.safetensors under build/bench_bert/), so no data is needed.
 * Python: $AISLE_PYTHON, else /usr/bin/python3, else python3 - the first
 * that imports torch; none: the torch column is skipped with a message.
 *
 *   build/release/bench/bench_bert [texts (default 8)] [fp32|fp16|int8]
 *
 * With an encoding named, only that one is timed (no torch, no accuracy):
 * a quick rerun, or a process to profile.
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

/* blas_threads = threads: the fp32/fp16 products are sgemm calls from one
 * thread, so OpenBLAS's own threads are their parallelism (set through the
 * documented option); `threads` runs the row-wise work and the int8 kernel. */
static aisle_config *bench_cfg(int threads) {
    aisle_config *cfg;
    aisle_config_new(&cfg);
    aisle_config_set_int(cfg, "threads", threads);
    aisle_config_set_int(cfg, "blas_threads", threads);
    return cfg;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* texts/s of wall time; *per_cpu: texts per second of CPU time (all threads) */
static double run_aisle(aisle_bert *m, const char **texts, int n, int threads, float *out, double *per_cpu) {
    aisle_config *cfg = bench_cfg(threads);
    if (aisle_bert_embed(m, texts, 1, AISLE_BERT_POOL_POOLER, cfg, out) != AISLE_OK) { /* warm-up */
        fprintf(stderr, "bench_bert: %s\n", aisle_last_error());
        exit(1);
    }
    double t0 = now_s(), c0 = cpu_s();
    if (aisle_bert_embed(m, texts, (size_t)n, AISLE_BERT_POOL_POOLER, cfg, out) != AISLE_OK) {
        fprintf(stderr, "bench_bert: %s\n", aisle_last_error());
        exit(1);
    }
    double dt = now_s() - t0;
    *per_cpu = n / (cpu_s() - c0);
    aisle_config_free(cfg);
    return n / dt;
}

/* Accuracy of an encoded model against fp32 on texts: the classifier's
 * logit margin z1 - z0 (log p1 - log p0: what softmax leaves of the two
 * logits), the argmax, and the pooled output. */
static void accuracy(const char *name, aisle_bert *m32, aisle_bert *mq, const char **texts, int n) {
    aisle_config *cfg = bench_cfg(2);
    float *p32 = malloc(sizeof(float) * 2 * (size_t)n), *pq = malloc(sizeof(float) * 2 * (size_t)n);
    float *e32 = malloc(sizeof(float) * HIDDEN * (size_t)n), *eq = malloc(sizeof(float) * HIDDEN * (size_t)n);
    if (aisle_bert_classify(m32, texts, NULL, (size_t)n, cfg, p32) || aisle_bert_classify(mq, texts, NULL, (size_t)n, cfg, pq) ||
        aisle_bert_embed(m32, texts, (size_t)n, AISLE_BERT_POOL_POOLER, cfg, e32) ||
        aisle_bert_embed(mq, texts, (size_t)n, AISLE_BERT_POOL_POOLER, cfg, eq)) {
        fprintf(stderr, "bench_bert: %s\n", aisle_last_error());
        exit(1);
    }
    double worst = 0, margin = 0, pooled = 0, cos_min = 1;
    int agree = 0;
    for (int i = 0; i < n; i++) {
        double z32 = log(p32[2 * i + 1]) - log(p32[2 * i]), zq = log(pq[2 * i + 1]) - log(pq[2 * i]);
        worst = fmax(worst, fabs(z32 - zq));
        margin = fmax(margin, fabs(z32));
        agree += (z32 > 0) == (zq > 0);
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < HIDDEN; j++) {
            double x = e32[(size_t)i * HIDDEN + j], y = eq[(size_t)i * HIDDEN + j];
            dot += x * y, na += x * x, nb += y * y;
            pooled = fmax(pooled, fabs(x - y));
        }
        cos_min = fmin(cos_min, dot / sqrt(na * nb));
    }
    printf("%s vs fp32 on %d texts: logit margin max |diff| %.4g (fp32 margins up to %.3g), argmax agrees %d/%d; "
           "pooled max |diff| %.4g, min cosine %.6f\n",
           name, n, worst, margin, agree, n, pooled, cos_min);
    free(p32), free(pq), free(e32), free(eq);
    aisle_config_free(cfg);
}

static char *random_text(int words) {
    char *t = malloc((size_t)words * 8 + 1);
    size_t at = 0;
    t[0] = '\0';
    for (int w = 0; w < words; w++) at += (size_t)sprintf(t + at, "%sw%d", w ? " " : "", 5 + (int)(unif() * (VOCAB - 5)));
    return t;
}

static aisle_bert *encoded(aisle_bert *m32, const char *dir, const char *quant) {
    char path[600];
    aisle_config *q;
    aisle_bert *m;
    aisle_config_new(&q);
    aisle_config_set(q, "quantize", quant);
    snprintf(path, sizeof path, "%s/model_%s.aisle", dir, quant);
    if (aisle_bert_save(m32, path, q) != AISLE_OK || aisle_bert_load(&m, path, NULL) != AISLE_OK) {
        fprintf(stderr, "bench_bert: %s: %s\n", quant, aisle_last_error());
        exit(1);
    }
    aisle_config_free(q);
    return m;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 2) n = 2;
    const char *only = argc > 2 ? argv[2] : NULL;
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
    enum { NQ = 3 };
    static const char *const qname[NQ] = {"fp32", "fp16", "int8"};
    aisle_bert *m[NQ];
    double t0 = now_s();
    if (aisle_bert_import(&m[0], dir, NULL) != AISLE_OK) {
        fprintf(stderr, "bench_bert: import: %s\n", aisle_last_error());
        return 1;
    }
    printf("import: %.2f s\n", now_s() - t0);
    m[1] = encoded(m[0], dir, "fp16");
    m[2] = encoded(m[0], dir, "int8");
    printf("checkpoint model.safetensors: %.1f MB; loaded", st.st_size / 1e6);
    for (int k = 0; k < NQ; k++) {
        size_t b;
        aisle_bert_memory(m[k], &b);
        printf(" %s %.1f MB (%.2fx)%s", qname[k], b / 1e6, (double)b / (double)st.st_size, k + 1 < NQ ? ";" : "\n");
    }

    /* n distinct texts of exactly 126 words -> 128 tokens with [CLS]/[SEP] */
    char **texts = malloc((size_t)n * sizeof *texts);
    for (int i = 0; i < n; i++) texts[i] = random_text(SEQ - 2);
    size_t ntok;
    uint32_t ids[SEQ];
    aisle_bert_tokenize(m[0], texts[0], NULL, NULL, ids, NULL, SEQ, &ntok);
    if (ntok != SEQ) {
        fprintf(stderr, "bench_bert: %zu tokens, expected %d\n", ntok, SEQ);
        return 1;
    }
    /* token ids for torch */
    snprintf(path, sizeof path, "%s/ids.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        aisle_bert_tokenize(m[0], texts[i], NULL, NULL, ids, NULL, SEQ, &ntok);
        for (int k = 0; k < SEQ; k++) fprintf(f, "%u%c", ids[k], k + 1 < SEQ ? ' ' : '\n');
    }
    fclose(f);

    float *out = malloc(sizeof(float) * (size_t)n * HIDDEN);
    double a[NQ][3], ac[NQ][3];
    for (int th = 1; th <= 2; th++)
        for (int k = 0; k < NQ; k++)
            if (only && strcmp(only, qname[k]) != 0)
                a[k][th] = ac[k][th] = 0;
            else
                a[k][th] = run_aisle(m[k], (const char **)texts, n, th, out, &ac[k][th]);
    double tt[3] = {0, 0, 0}, tc[3] = {0, 0, 0};
    const char *py = only ? NULL : torch_python();
    if (only) {
        printf("only %s timed: torch and accuracy skipped\n", only);
    } else if (!py) {
        printf("torch: no python3 with torch found (set AISLE_PYTHON): comparison skipped\n");
    } else {
        for (int th = 1; th <= 2; th++) {
            snprintf(cmd, sizeof cmd, "%s bench/bert_torch.py %s %d", py, dir, th);
            FILE *p = popen(cmd, "r");
            if (!p || fscanf(p, "%lf %lf", &tt[th], &tc[th]) != 2) tt[th] = tc[th] = 0;
            if (p) pclose(p);
        }
    }
    for (int cpu = 0; cpu < 2; cpu++) {
        double(*x)[3] = cpu ? ac : a, *y = cpu ? tc : tt;
        printf("\n%d texts of %d tokens, %d x %d x %d heads; texts per second of %s (higher is better)\n", n, SEQ,
               LAYERS, HIDDEN, HEADS, cpu ? "CPU time, all threads (robust to a loaded machine)" : "wall time");
        printf("%-8s %11s %11s %11s %11s %8s %8s %8s\n", "threads", "aisle fp32", "aisle fp16", "aisle int8",
               "torch fp32", "fp32/t", "fp16/t", "int8/t");
        for (int th = 1; th <= 2; th++) {
            printf("%-8d %11.3f %11.3f %11.3f", th, x[0][th], x[1][th], x[2][th]);
            if (y[th] > 0)
                printf(" %11.3f %7.2fx %7.2fx %7.2fx\n", y[th], x[0][th] / y[th], x[1][th] / y[th], x[2][th] / y[th]);
            else
                printf(" %11s %8s %8s %8s\n", "-", "-", "-", "-");
        }
    }
    /* accuracy on texts of mixed lengths (8..126 words) */
    enum { NACC = 32 };
    char *acc[NACC];
    for (int i = 0; i < NACC; i++) acc[i] = random_text(8 + (int)(unif() * 119));
    for (int k = 1; k < NQ && !only; k++) accuracy(qname[k], m[0], m[k], (const char **)acc, NACC);
    for (int i = 0; i < NACC; i++) free(acc[i]);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(out);
    for (int k = 0; k < NQ; k++) aisle_bert_free(m[k]);
    return 0;
}
