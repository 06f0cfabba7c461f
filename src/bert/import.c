/* import.c - a checkpoint directory (config.json, vocab.txt,
 * model.safetensors, optional tokenizer_config.json) into an in-memory
 * model.  The config is checked first, then every tensor the config
 * implies is looked up in the safetensors header and its shape compared,
 * and only then is the model allocated and filled, one tensor at a time
 * straight from the file. */
#include "bert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1u << 20)

/* Reads a small text file whole; ENOTFOUND if missing and optional. */
static int read_text(const char *path, size_t max, char **out, size_t *len, bool optional) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return optional ? AISLE_ENOTFOUND : core_error(AISLE_ENOTFOUND, "%s: no such file", path);
        return core_error(AISLE_EIO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return core_error(AISLE_EIO, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > max)
        return core_error(AISLE_ERANGE, "%s: %lld bytes is larger than the %zu bytes allowed", path,
                          (long long)st.st_size, max);
    FILE *f = fopen(path, "rb");
    if (!f) return core_error(AISLE_EIO, "%s: %s", path, strerror(errno));
    size_t n = (size_t)st.st_size;
    char *buf = core_malloc(n + 1);
    if (!buf) {
        fclose(f);
        return core_oom(path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        core_free(buf);
        return core_error(AISLE_EIO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return AISLE_OK;
}

typedef struct {
    FILE *f;
    const char *path;
    bert_safetensors st;
    const char *prefix;
} ckpt;

static float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Looks a tensor up (with the model prefix unless bare) and checks its
 * shape: rows x cols (cols 0: a vector of rows). */
static int find(const ckpt *k, const char *name, bool bare, uint64_t rows, uint64_t cols, const bert_st_tensor **out) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", bare ? "" : k->prefix, name);
    const bert_st_tensor *t = bert_st_find(&k->st, full);
    if (!t) return core_error(AISLE_EFORMAT, "%s: tensor '%s' is missing", k->path, full);
    bool ok = cols ? t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols : t->ndim == 1 && t->shape[0] == rows;
    if (!ok) {
        char got[96] = "";
        size_t at = 0;
        for (int i = 0; i < t->ndim && at < sizeof got - 24; i++)
            at += (size_t)snprintf(got + at, sizeof got - at, i ? " x %llu" : "%llu", (unsigned long long)t->shape[i]);
        if (cols)
            return core_error(AISLE_EFORMAT, "%s: tensor '%s' has shape [%s] but config.json implies [%llu x %llu]",
                              k->path, full, got, (unsigned long long)rows, (unsigned long long)cols);
        return core_error(AISLE_EFORMAT, "%s: tensor '%s' has shape [%s] but config.json implies [%llu]", k->path,
                          full, got, (unsigned long long)rows);
    }
    *out = t;
    return AISLE_OK;
}

/* Reads tensor t (already shape-checked) as fp32 into dst. */
static int load(const ckpt *k, const bert_st_tensor *t, float *dst) {
    if (fseeko(k->f, (off_t)t->begin, SEEK_SET) != 0)
        return core_error(AISLE_EIO, "%s: seek to tensor '%s': %s", k->path, t->name, strerror(errno));
    size_t elem = t->dtype == BERT_DT_F32 ? 4 : 2, n = (size_t)((t->end - t->begin) / elem), done = 0;
    unsigned char buf[1 << 14];
    while (done < n) {
        size_t want = n - done < sizeof buf / elem ? n - done : sizeof buf / elem;
        if (fread(buf, elem, want, k->f) != want)
            return core_error(AISLE_EFORMAT, "%s: tensor '%s' is truncated (file shorter than its data_offsets)",
                              k->path, t->name);
        for (size_t i = 0; i < want; i++) {
            const unsigned char *p = buf + i * elem;
            if (t->dtype == BERT_DT_F32) {
                uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                memcpy(&dst[done + i], &u, 4);
            } else {
                uint16_t h = (uint16_t)(p[0] | p[1] << 8);
                dst[done + i] = t->dtype == BERT_DT_F16 ? io_f16_to_f32(h) : bf16_to_f32(h);
            }
        }
        done += want;
    }
    return AISLE_OK;
}

static int vec_in(const ckpt *k, const char *name, bool bare, uint64_t n, float *dst) {
    const bert_st_tensor *t;
    int rc = find(k, name, bare, n, 0, &t);
    return rc ? rc : load(k, t, dst);
}

static int mat_in(const ckpt *k, const char *name, bool bare, uint64_t rows, uint64_t cols, float *dst) {
    const bert_st_tensor *t;
    int rc = find(k, name, bare, rows, cols, &t);
    return rc ? rc : load(k, t, dst);
}

/* LayerNorm weight/bias, or gamma/beta in checkpoints converted from TF. */
static int ln_in(const ckpt *k, const char *base, uint64_t n, float *g, float *b) {
    char w[160], bb[160];
    snprintf(w, sizeof w, "%s.LayerNorm.weight", base);
    snprintf(bb, sizeof bb, "%s.LayerNorm.bias", base);
    char full[256];
    snprintf(full, sizeof full, "%s%s", k->prefix, w);
    if (!bert_st_find(&k->st, full)) {
        snprintf(w, sizeof w, "%s.LayerNorm.gamma", base);
        snprintf(bb, sizeof bb, "%s.LayerNorm.beta", base);
    }
    int rc = vec_in(k, w, false, n, g);
    return rc ? rc : vec_in(k, bb, false, n, b);
}

static bool has(const ckpt *k, const char *name, bool bare) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", bare ? "" : k->prefix, name);
    return bert_st_find(&k->st, full) != NULL;
}

/* Checks every shape before anything large is allocated. */
static int check_shapes(const ckpt *k, const bert_config *c) {
    const bert_st_tensor *t;
    uint64_t H = c->hidden, I = c->inter;
    int rc = find(k, "embeddings.word_embeddings.weight", false, c->vocab, H, &t);
    if (!rc) rc = find(k, "embeddings.position_embeddings.weight", false, c->max_pos, H, &t);
    if (!rc) rc = find(k, "embeddings.token_type_embeddings.weight", false, c->type_vocab, H, &t);
    static const char *const hh[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                     "attention.output.dense"};
    for (uint32_t l = 0; !rc && l < c->layers; l++) {
        char name[160];
        for (int i = 0; !rc && i < 4; i++) {
            snprintf(name, sizeof name, "encoder.layer.%u.%s.weight", l, hh[i]);
            rc = find(k, name, false, H, H, &t);
            snprintf(name, sizeof name, "encoder.layer.%u.%s.bias", l, hh[i]);
            if (!rc) rc = find(k, name, false, H, 0, &t);
        }
        snprintf(name, sizeof name, "encoder.layer.%u.intermediate.dense.weight", l);
        if (!rc) rc = find(k, name, false, I, H, &t);
        snprintf(name, sizeof name, "encoder.layer.%u.output.dense.weight", l);
        if (!rc) rc = find(k, name, false, H, I, &t);
    }
    if (!rc) {
        char name[160];
        snprintf(name, sizeof name, "encoder.layer.%u.attention.self.query.weight", c->layers);
        if (has(k, name, false))
            rc = core_error(AISLE_EFORMAT, "%s: tensor '%s%s' exists but config.json field num_hidden_layers is %u",
                            k->path, k->prefix, name, c->layers);
    }
    if (!rc && c->has_classifier && !c->has_pooler)
        rc = core_error(AISLE_EFORMAT, "%s: tensor 'classifier.weight' is present but '%spooler.dense.weight' is "
                        "missing (the classifier reads the pooled output)", k->path, k->prefix);
    if (!rc && c->has_pooler) rc = find(k, "pooler.dense.weight", false, H, H, &t);
    if (!rc && c->has_classifier) rc = find(k, "classifier.weight", true, c->num_labels, H, &t);
    return rc;
}

static int fill(const ckpt *k, aisle_bert *m) {
    const bert_config *c = &m->cfg;
    uint64_t H = c->hidden, I = c->inter;
    int rc = mat_in(k, "embeddings.word_embeddings.weight", false, c->vocab, H, m->word.f);
    if (!rc) rc = mat_in(k, "embeddings.position_embeddings.weight", false, c->max_pos, H, m->pos);
    if (!rc) rc = mat_in(k, "embeddings.token_type_embeddings.weight", false, c->type_vocab, H, m->type);
    if (!rc) rc = ln_in(k, "embeddings", H, m->emb_g, m->emb_b);
    static const char *const qkv[] = {"query", "key", "value"};
    for (uint32_t l = 0; !rc && l < c->layers; l++) {
        bert_layer *L = &m->layer[l];
        char name[160], base[96];
        for (int i = 0; !rc && i < 3; i++) {
            snprintf(name, sizeof name, "encoder.layer.%u.attention.self.%s.weight", l, qkv[i]);
            rc = mat_in(k, name, false, H, H, L->qkv.f + (size_t)i * H * H);
            snprintf(name, sizeof name, "encoder.layer.%u.attention.self.%s.bias", l, qkv[i]);
            if (!rc) rc = vec_in(k, name, false, H, L->qkv_b + (size_t)i * H);
        }
        snprintf(name, sizeof name, "encoder.layer.%u.attention.output.dense.weight", l);
        if (!rc) rc = mat_in(k, name, false, H, H, L->ao.f);
        snprintf(name, sizeof name, "encoder.layer.%u.attention.output.dense.bias", l);
        if (!rc) rc = vec_in(k, name, false, H, L->ao_b);
        snprintf(base, sizeof base, "encoder.layer.%u.attention.output", l);
        if (!rc) rc = ln_in(k, base, H, L->ln1_g, L->ln1_b);
        snprintf(name, sizeof name, "encoder.layer.%u.intermediate.dense.weight", l);
        if (!rc) rc = mat_in(k, name, false, I, H, L->in.f);
        snprintf(name, sizeof name, "encoder.layer.%u.intermediate.dense.bias", l);
        if (!rc) rc = vec_in(k, name, false, I, L->in_b);
        snprintf(name, sizeof name, "encoder.layer.%u.output.dense.weight", l);
        if (!rc) rc = mat_in(k, name, false, H, I, L->out.f);
        snprintf(name, sizeof name, "encoder.layer.%u.output.dense.bias", l);
        if (!rc) rc = vec_in(k, name, false, H, L->out_b);
        snprintf(base, sizeof base, "encoder.layer.%u.output", l);
        if (!rc) rc = ln_in(k, base, H, L->ln2_g, L->ln2_b);
    }
    if (!rc && c->has_pooler) {
        rc = mat_in(k, "pooler.dense.weight", false, H, H, m->pool.f);
        if (!rc) rc = vec_in(k, "pooler.dense.bias", false, H, m->pool_b);
    }
    if (!rc && c->has_classifier) {
        rc = mat_in(k, "classifier.weight", true, c->num_labels, H, m->cls.f);
        if (!rc) rc = vec_in(k, "classifier.bias", true, c->num_labels, m->cls_b);
    }
    return rc;
}

static int open_safetensors(ckpt *k) {
    k->f = fopen(k->path, "rb");
    if (!k->f) return core_error(errno == ENOENT ? AISLE_ENOTFOUND : AISLE_EIO, "%s: %s", k->path, strerror(errno));
    struct stat st;
    if (fstat(fileno(k->f), &st) != 0 || !S_ISREG(st.st_mode))
        return core_error(AISLE_EIO, "%s: not a regular file", k->path);
    uint8_t first[8];
    uint64_t size = (uint64_t)st.st_size, hlen;
    if (size >= 8 && fread(first, 1, 8, k->f) != 8) return core_error(AISLE_EIO, "%s: short read", k->path);
    int rc = bert_st_header_len(first, size, k->path, &hlen);
    if (rc) return rc;
    char *json = core_malloc((size_t)hlen);
    if (!json) return core_oom("safetensors header");
    if (fread(json, 1, (size_t)hlen, k->f) != hlen) {
        core_free(json);
        return core_error(AISLE_EIO, "%s: short read of the header", k->path);
    }
    rc = bert_st_parse(&k->st, json, (size_t)hlen, size, k->path);
    core_free(json);
    return rc;
}

int bert_import_dir(aisle_bert **out, const char *dir) {
    size_t dl = strlen(dir);
    char *p_cfg = core_malloc(dl + 32), *p_tok = core_malloc(dl + 32), *p_voc = core_malloc(dl + 32),
         *p_st = core_malloc(dl + 32);
    char *cfg_text = NULL, *tok_text = NULL, *voc_text = NULL;
    size_t cfg_len = 0, tok_len = 0, voc_len = 0;
    aisle_bert *m = NULL;
    ckpt k;
    memset(&k, 0, sizeof k);
    int rc = AISLE_OK;
    if (!p_cfg || !p_tok || !p_voc || !p_st) rc = core_oom("paths");
    if (!rc) {
        snprintf(p_cfg, dl + 32, "%s/config.json", dir);
        snprintf(p_tok, dl + 32, "%s/tokenizer_config.json", dir);
        snprintf(p_voc, dl + 32, "%s/vocab.txt", dir);
        snprintf(p_st, dl + 32, "%s/model.safetensors", dir);
        rc = read_text(p_cfg, CONFIG_MAX_BYTES, &cfg_text, &cfg_len, false);
    }
    if (!rc) {
        rc = read_text(p_tok, CONFIG_MAX_BYTES, &tok_text, &tok_len, true);
        if (rc == AISLE_ENOTFOUND) rc = AISLE_OK, tok_text = NULL;
    }
    if (!rc) rc = read_text(p_voc, BERT_VOCAB_MAX_BYTES, &voc_text, &voc_len, false);
    if (!rc && !(m = core_calloc(1, sizeof *m))) rc = core_oom("bert model");
    if (!rc) rc = bert_config_parse(&m->cfg, cfg_text, cfg_len, p_cfg, tok_text, tok_len, p_tok);
    if (!rc) rc = bert_vocab_parse(&m->vocab, voc_text, voc_len, p_voc);
    if (!rc && m->vocab.n > m->cfg.vocab)
        rc = core_error(AISLE_EFORMAT, "%s: %u tokens but %s field vocab_size is %u", p_voc, m->vocab.n, p_cfg,
                        m->cfg.vocab);
    if (!rc) {
        k.path = p_st;
        rc = open_safetensors(&k);
    }
    if (!rc) {
        k.prefix = bert_st_find(&k.st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
        m->cfg.has_pooler = has(&k, "pooler.dense.weight", false);
        m->cfg.has_classifier = has(&k, "classifier.weight", true);
        rc = check_shapes(&k, &m->cfg);
    }
    if (!rc) rc = bert_model_alloc(m);
    if (!rc) rc = fill(&k, m);
    if (!rc && m->cfg.has_classifier) rc = bert_config_labels(cfg_text, cfg_len, p_cfg, m->cfg.num_labels, &m->label_names);
    if (k.f) fclose(k.f);
    bert_st_free(&k.st);
    core_free(cfg_text);
    core_free(tok_text);
    core_free(voc_text);
    core_free(p_cfg);
    core_free(p_tok);
    core_free(p_voc);
    core_free(p_st);
    if (rc) {
        if (m) bert_model_release(m);
        core_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}
