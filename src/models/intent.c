/* intent.c - model kind `intent`: a text classifier (customer-service
 * intents, sentiment, category, spam) around one of the text
 * architectures of src/text (option architecture).
 *
 * The kind owns what every architecture shares: the label dictionary, the
 * feature settings, probability calibration by temperature scaling (fitted
 * on a stratified held-out share of the training texts, Guo et al. 2017),
 * the unknown threshold and distillation targets (Hinton, Vinyals & Dean
 * 2015: the student learns the teacher's softmax at temperature T mixed
 * with the true labels).  The recommender parts of the handle (users,
 * items, history) stay empty. */
#include "models.h"
#include "bert/bert.h"
#include "text/text.h"

#include <cblas.h>

#include <math.h>
#include <string.h>

typedef struct intent_state {
    const text_arch_ops *arch;
    void *arch_state;
    text_feat_cfg feat;
    core_keys labels;
    float temperature;   /* calibration: p = softmax(z / temperature) */
    float threshold;     /* unknown below this top probability */
} intent_state;

extern const model_ops model_intent_ops;

/* The text layer's architectures, then those of layers above it. */
static const text_arch_ops *const upper_archs[] = {&bert_intent_ops, NULL};

static const text_arch_ops *arch_find(const char *name) {
    const text_arch_ops *a = text_arch_find(name);
    for (int i = 0; !a && upper_archs[i]; i++)
        if (strcmp(upper_archs[i]->name, name) == 0) a = upper_archs[i];
    return a;
}

const text_arch_ops *model_text_arch_at(int i) {
    for (int k = 0; i >= 0 && text_archs[k]; k++, i--)
        if (i == 0) return text_archs[k];
    for (int k = 0; i >= 0 && upper_archs[k]; k++, i--)
        if (i == 0) return upper_archs[k];
    return NULL;
}

static int not_intent(const aisle_model *m, const char *what) {
    return core_error(AISLE_EUNSUPPORTED, "%s: model kind '%s' is not an intent model", what,
                      m && m->ops ? m->ops->name : "?");
}

static const intent_state *intent_of(const aisle_model *m) {
    return m && m->ops == &model_intent_ops ? m->state : NULL;
}

static void intent_free(aisle_model *m) {
    intent_state *s = m->state;
    if (!s) return;
    if (s->arch && s->arch_state) s->arch->free(s->arch_state);
    keys_clear(&s->labels);
    core_free(s);
    m->state = NULL;
}

static int intent_train_events(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                               const aisle_config *cfg, core_progress *prog) {
    (void)m, (void)ds, (void)cat, (void)cfg, (void)prog;
    return core_error(AISLE_EUNSUPPORTED, "model kind 'intent' trains on labelled texts, not events: use "
                      "aisle_text_train (CLI: aisle train --model intent --data FILE --columns text=COL,label=COL)");
}

static int intent_score_items(const aisle_model *m, const model_query *q, float *scores) {
    (void)m, (void)q, (void)scores;
    return core_error(AISLE_EUNSUPPORTED, "model kind 'intent' classifies texts (aisle_text_classify); it does not "
                      "rank items");
}

/* ---- per-text logits ---- */

static int text_logits(const intent_state *s, const char *text, size_t len, text_doc *d, float *z) {
    if (s->arch->raw_text) {
        text_view raw = {NULL, NULL, 0, text ? text : "", text ? len : 0};
        return s->arch->logits(s->arch_state, &raw, z);
    }
    int rc = text_featurize(&s->feat, text, len, d);
    if (rc) return rc;
    text_view v = text_doc_view(d);
    return s->arch->logits(s->arch_state, &v, z);
}

typedef struct logits_ctx {
    const intent_state *s;
    const aisle_texts *t;
    float *z;            /* rows x n_out */
    uint32_t n_out;      /* logits per text (the model's labels) */
} logits_ctx;

static int logits_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    logits_ctx *c = vc;
    text_doc d;
    text_doc_init(&d);
    int rc = AISLE_OK;
    for (size_t i = begin; i < end && !rc; i++)
        rc = text_logits(c->s, text_at(c->t, i), c->t->len[i], &d, c->z + i * c->n_out);
    text_doc_free(&d);
    return rc;
}

/* Logits of every text of t, in parallel. */
static int corpus_logits(const intent_state *s, const aisle_texts *t, int threads, float **out) {
    uint32_t nl = (uint32_t)s->labels.n;
    float *z = core_malloc((t->n ? t->n : 1) * nl * sizeof *z);
    if (!z) return core_oom("text logits");
    int rc;
    if (s->arch->logits_batch) {
        /* batched by the architecture (the corpus's texts are NUL-terminated) */
        const char **texts = core_malloc((t->n ? t->n : 1) * sizeof *texts);
        size_t *lens = core_malloc((t->n ? t->n : 1) * sizeof *lens);
        rc = !texts || !lens ? core_oom("text logits") : AISLE_OK;
        for (size_t i = 0; !rc && i < t->n; i++) texts[i] = text_at(t, i), lens[i] = t->len[i];
        if (!rc) rc = s->arch->logits_batch(s->arch_state, texts, lens, t->n, threads, z);
        core_free(texts);
        core_free(lens);
    } else {
        logits_ctx c = {s, t, z, nl};
        rc = core_parallel_for(threads, t->n, 64, logits_range, &c);
    }
    if (rc) {
        core_free(z);
        return rc;
    }
    *out = z;
    return AISLE_OK;
}

/* ---- distillation targets ---- */

/* map[l] = the teacher's index of training label l. */
static int teacher_label_map(const aisle_texts *t, const core_keys *teacher, const char *path, uint32_t *map) {
    for (uint32_t l = 0; l < t->labels.n; l++) {
        const char *name = keys_at(&t->labels, l);
        int64_t k = keys_find(teacher, name, strlen(name));
        if (k < 0) return core_error(AISLE_EINVAL, "teacher %s does not know the training label '%s'", path, name);
        map[l] = (uint32_t)k;
    }
    return AISLE_OK;
}

/* set->soft from the teacher's scores z (rows x stride): its softmax at
 * temperature T restricted to the student's labels.  Scores are logits,
 * or probabilities when `probs` (their logs are logits up to a constant). */
static int fill_soft(text_set *set, const float *z, size_t rows, uint32_t stride, const uint32_t *map, bool probs,
                     const aisle_config *cfg) {
    uint32_t nl = set->n_labels;
    set->soft = core_malloc((rows ? rows : 1) * nl * sizeof *set->soft);
    if (!set->soft) return core_oom("distillation targets");
    float T = (float)config_float(cfg, text_options, "distill_temperature");
    for (size_t i = 0; i < rows; i++) {
        float *q = set->soft + i * nl;
        for (uint32_t l = 0; l < nl; l++) {
            float v = z[i * stride + map[l]];
            q[l] = probs ? logf(CORE_MAX(v, 1e-30f)) : v;
        }
        text_softmax(q, nl, T);
    }
    set->soft_temperature = T;
    set->soft_alpha = (float)config_float(cfg, text_options, "distill_alpha");
    return AISLE_OK;
}

/* A bert sequence classifier (kind "bert", a fine-tuned checkpoint whose
 * label names came from config.json's id2label) as the teacher. */
static int bert_teacher_targets(const aisle_texts *t, const aisle_config *cfg, const char *path, const void *data,
                                size_t len, text_set *set) {
    aisle_bert *b = NULL;
    int rc = bert_load_buffer(&b, data, len, cfg, path);
    if (rc) return core_error_prefix(rc, "teacher %s", path);
    uint32_t tl = b->cfg.num_labels;
    if (!b->cfg.has_classifier || b->cfg.regression)
        rc = core_error(AISLE_EINVAL, "teacher %s is a bert model without a classification head", path);
    else if (b->label_names.n != tl)
        rc = core_error(AISLE_EINVAL, "teacher %s: the bert model carries no label names (import a checkpoint whose "
                        "config.json has id2label)", path);
    uint32_t *map = rc ? NULL : core_malloc(set->n_labels * sizeof *map);
    const char **texts = rc ? NULL : core_malloc((t->n ? t->n : 1) * sizeof *texts);
    float *p = rc ? NULL : core_malloc((t->n ? t->n : 1) * tl * sizeof *p);
    if (!rc && (!map || !texts || !p)) rc = core_oom("distillation");
    if (!rc) rc = teacher_label_map(t, &b->label_names, path, map);
    for (size_t i = 0; !rc && i < t->n; i++) texts[i] = text_at(t, i);
    if (!rc) rc = aisle_bert_classify(b, texts, NULL, t->n, cfg, p);
    if (!rc) rc = fill_soft(set, p, t->n, tl, map, true, cfg);
    core_free(map);
    core_free(texts);
    core_free(p);
    aisle_bert_free(b);
    return rc;
}

/* The kind of the model file at path ("" when it is not a readable model
 * file: the intent load then reports why). */
static int teacher_kind(const char *path, const aisle_config *cfg, uint8_t **data, size_t *len, bool *is_bert) {
    uint64_t max = (uint64_t)config_int(cfg, io_options, "max_model_bytes");
    int rc = io_read_file(path, max, data, len);
    if (rc) return core_error_prefix(rc, "teacher %s", path);
    io_reader *r = NULL;
    *is_bert = io_reader_open(&r, *data, *len, max) == AISLE_OK && !strcmp(io_reader_kind(r), "bert");
    io_reader_free(r);
    return AISLE_OK;
}

static int teacher_targets(const aisle_texts *t, const aisle_config *cfg, option_tables tables, int threads,
                           text_set *set) {
    const char *path = config_string(cfg, text_options, "teacher");
    uint8_t *data = NULL;
    size_t len = 0;
    bool is_bert = false;
    int rc = teacher_kind(path, cfg, &data, &len, &is_bert);
    if (!rc && is_bert) rc = bert_teacher_targets(t, cfg, path, data, len, set);
    core_free(data);
    if (rc || is_bert) return rc;
    aisle_model *tm = NULL;
    rc = model_load_file(&tm, path, NULL, tables);
    if (rc) return core_error_prefix(rc, "teacher %s", path);
    const intent_state *ts = intent_of(tm);
    if (!ts) {
        rc = core_error(AISLE_EINVAL, "teacher %s is a '%s' model, not an intent or bert model", path, tm->ops->name);
        aisle_model_free(tm);
        return rc;
    }
    uint32_t *map = core_malloc(set->n_labels * sizeof *map);
    float *tz = NULL;
    rc = map ? teacher_label_map(t, &ts->labels, path, map) : core_oom("distillation");
    if (!rc) rc = corpus_logits(ts, t, threads, &tz);
    if (!rc) rc = fill_soft(set, tz, t->n, (uint32_t)ts->labels.n, map, false, cfg);
    core_free(tz);
    core_free(map);
    aisle_model_free(tm);
    return rc;
}

/* ---- training ---- */

static int unknown_arch(const char *name) {
    core_buf b;
    buf_init(&b);
    for (int i = 0; model_text_arch_at(i); i++) buf_printf(&b, "%s%s", i ? ", " : "", model_text_arch_at(i)->name);
    int rc = core_error(AISLE_ENOTFOUND, "option architecture: unknown architecture '%s' (known: %s)", name,
                        b.data ? b.data : "none");
    buf_free(&b);
    return rc;
}

/* Fits the temperature on the held-out texts and stores the calibration
 * error before and after as model metrics. */
static int calibrate(aisle_model *m, intent_state *s, const aisle_texts *cal, int threads) {
    s->temperature = 1.0f;
    if (!cal || !cal->n) return AISLE_OK;
    uint32_t nl = (uint32_t)s->labels.n;
    float *z = NULL, *conf = core_malloc(cal->n * sizeof *conf);
    uint8_t *ok = core_malloc(cal->n);
    float *p = core_malloc(nl * sizeof *p);
    int rc = !conf || !ok || !p ? core_oom("calibration") : corpus_logits(s, cal, threads, &z);
    if (!rc) {
        double ece[2];
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) s->temperature = text_fit_temperature(z, cal->label, cal->n, nl);
            for (size_t i = 0; i < cal->n; i++) {
                memcpy(p, z + i * nl, nl * sizeof *p);
                text_softmax(p, nl, s->temperature);
                uint32_t best = 0;
                for (uint32_t l = 1; l < nl; l++) best = p[l] > p[best] ? l : best;
                conf[i] = p[best];
                ok[i] = best == cal->label[i];
            }
            ece[pass] = text_ece(conf, ok, cal->n, 15);
        }
        rc = aisle_model_set_metric(m, "ece_uncalibrated", ece[0]);
        if (!rc) rc = aisle_model_set_metric(m, "ece", ece[1]);
        if (!rc) rc = aisle_model_set_metric(m, "temperature", s->temperature);
    }
    core_free(z);
    core_free(conf);
    core_free(ok);
    core_free(p);
    return rc;
}

static int train_texts(aisle_model *m, intent_state *s, const aisle_texts *t, const aisle_config *cfg,
                       option_tables tables, const struct nn_dp_hook *dp) {
    int threads = core_thread_count(config_int(cfg, text_options, "threads"));
    double frac = config_float(cfg, text_options, "calibration_fraction");
    uint64_t seed = (uint64_t)config_int(cfg, text_options, "seed");
    aisle_texts *fit = NULL, *cal = NULL;
    int rc = AISLE_OK;
    if (frac > 0) rc = text_corpus_split(t, frac, seed ^ 0x5ca1ab1eull, &fit, &cal);
    const aisle_texts *train = fit ? fit : t;
    text_set set;
    memset(&set, 0, sizeof set);
    if (!rc) rc = s->arch->raw_text ? text_set_raw(train, &set) : text_set_build(&s->feat, train, &set);
    if (!rc && config_string(cfg, text_options, "teacher")[0]) rc = teacher_targets(train, cfg, tables, threads, &set);
    if (!rc) {
        core_progress prog;
        core_progress_init(&prog, cfg);
        rc = dp ? s->arch->train_dp(&set, NULL, cfg, &prog, dp, &s->arch_state)
                : s->arch->train(&set, NULL, cfg, &prog, &s->arch_state);
    }
    text_set_free(&set);
    if (!rc) rc = calibrate(m, s, cal, threads);
    aisle_texts_free(fit);
    aisle_texts_free(cal);
    return rc;
}

int model_text_train(const aisle_texts *t, const aisle_config *cfg, option_tables tables, aisle_model **out) {
    return model_text_train_hooked(t, cfg, tables, NULL, out);
}

int model_text_train_hooked(const aisle_texts *t, const aisle_config *cfg, option_tables tables,
                            const struct nn_dp_hook *dp, aisle_model **out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_text_train: NULL texts or out");
    int rc = config_check(cfg, text_options, "model 'intent'");
    if (rc) return rc;
    const char *arch_name = config_string(cfg, text_options, "architecture");
    const text_arch_ops *arch = arch_find(arch_name);
    if (!arch) return unknown_arch(arch_name);
    char what[64];
    snprintf(what, sizeof what, "model 'intent' (architecture %s)", arch->name);
    if ((rc = config_check(cfg, arch->options, what))) return rc;
    if (dp && !arch->train_dp)
        return core_error(AISLE_EUNSUPPORTED, "architecture %s does not train distributed (transformer does)",
                          arch->name);
    if (!t->n) return core_error(AISLE_EINVAL, "cannot train an intent model on no texts");
    if (keys_find(&t->labels, "", 0) >= 0)
        return core_error(AISLE_EINVAL, "cannot train an intent model on texts without labels (map a label column)");
    if (t->labels.n < 2)
        return core_error(AISLE_EINVAL, "an intent model needs texts of at least 2 labels; all %zu texts have the "
                          "label '%s'", t->n, keys_at(&t->labels, 0));
    int64_t blas_threads = config_int(cfg, NULL, "blas_threads");
    if (blas_threads > 0) openblas_set_num_threads((int)blas_threads);
    aisle_model *m;
    if ((rc = model_alloc(&model_intent_ops, &m))) return rc;
    intent_state *s = core_calloc(1, sizeof *s);
    if (!s) rc = core_oom("intent model");
    if (!rc) {
        m->state = s;
        keys_init(&s->labels);
        s->arch = arch;
        s->temperature = 1.0f;
        s->threshold = (float)config_float(cfg, text_options, "unknown_threshold");
        rc = text_feat_configure(&s->feat, cfg);
    }
    if (!rc) rc = keys_copy(&s->labels, &t->labels);
    if (!rc) rc = cfg ? aisle_config_copy(cfg, &m->config) : aisle_config_new(&m->config);
    if (!rc) m->config->progress = NULL, m->config->progress_user = NULL;
    if (!rc) rc = train_texts(m, s, t, cfg, tables, dp);
    if (rc) {
        aisle_model_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}

/* ---- file ---- */

static int intent_save(const aisle_model *m, io_writer *w) {
    const intent_state *s = m->state;
    core_buf b;
    buf_init(&b);
    int rc = io_put_str(&b, s->arch->name);
    if (!rc) rc = io_put_u32(&b, (uint32_t)s->labels.n);
    for (size_t l = 0; !rc && l < s->labels.n; l++) rc = io_put_str(&b, keys_at(&s->labels, (uint32_t)l));
    if (!rc) rc = io_put_u32(&b, (uint32_t)s->feat.word_ngrams);
    if (!rc) rc = io_put_u32(&b, (uint32_t)s->feat.char_min);
    if (!rc) rc = io_put_u32(&b, (uint32_t)s->feat.char_max);
    if (!rc) rc = io_put_u32(&b, s->feat.buckets);
    if (!rc) rc = io_put_u32(&b, s->feat.max_tokens);
    if (!rc) rc = io_put_u8(&b, s->feat.tok.lowercase);
    if (!rc) rc = io_put_u8(&b, s->feat.tok.cjk_bigrams);
    if (!rc) rc = io_put_f32(&b, s->temperature);
    if (!rc) rc = io_put_f32(&b, s->threshold);
    if (!rc) rc = io_writer_add_section(w, TEXT_SECTION_INTENT, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    if (!rc) rc = s->arch->save(s->arch_state, w);
    return rc;
}

static int get_u32_in(io_cursor *c, uint32_t *v, uint32_t lo, uint32_t hi, const char *what) {
    int rc = io_get_u32(c, v);
    if (!rc && (*v < lo || *v > hi))
        rc = core_error(AISLE_EFORMAT, "%s: %s = %u outside [%u, %u]", c->section, what, *v, lo, hi);
    return rc;
}

static int intent_load(aisle_model *m, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, TEXT_SECTION_INTENT, &c);
    if (rc) return rc;
    intent_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("loading the intent model");
    m->state = s;
    keys_init(&s->labels);
    feat_tok_default(&s->feat.tok);
    char *name = NULL;
    uint32_t nl = 0, v;
    rc = io_get_str(&c, &name);
    if (!rc && !(s->arch = arch_find(name)))
        rc = core_error(AISLE_EVERSION, "%s: architecture '%s' is not built into this library", c.section, name);
    core_free(name);
    if (!rc) rc = get_u32_in(&c, &nl, 2, (uint32_t)CORE_MIN(c.len, UINT32_MAX), "label count");
    for (uint32_t l = 0; !rc && l < nl; l++) {
        char *lab = NULL;
        bool added = false;
        uint32_t idx;
        rc = io_get_str(&c, &lab);
        if (!rc && (!lab[0] || data_utf8_check(lab, strlen(lab)) < strlen(lab)))
            rc = core_error(AISLE_EFORMAT, "%s: label %u is empty or not UTF-8", c.section, l);
        if (!rc) rc = keys_intern(&s->labels, lab, strlen(lab), &idx, &added);
        if (!rc && !added) rc = core_error(AISLE_EFORMAT, "%s: label '%s' appears twice", c.section, lab);
        core_free(lab);
    }
    if (!rc) rc = get_u32_in(&c, &v, 1, 3, "word_ngrams"), s->feat.word_ngrams = (int)v;
    if (!rc) rc = get_u32_in(&c, &v, 0, 16, "char_ngram_min"), s->feat.char_min = (int)v;
    if (!rc) rc = get_u32_in(&c, &v, 0, 16, "char_ngram_max"), s->feat.char_max = (int)v;
    if (!rc && s->feat.char_max && (s->feat.char_min < 1 || s->feat.char_min > s->feat.char_max))
        rc = core_error(AISLE_EFORMAT, "%s: character n-gram lengths %d..%d", c.section, s->feat.char_min,
                        s->feat.char_max);
    if (!rc) rc = get_u32_in(&c, &s->feat.buckets, 1024, 1u << 30, "hash_buckets");
    if (!rc) rc = get_u32_in(&c, &s->feat.max_tokens, 1, 1000000, "max_tokens");
    uint8_t b8;
    if (!rc) rc = io_get_u8(&c, &b8), s->feat.tok.lowercase = b8 != 0;
    if (!rc) rc = io_get_u8(&c, &b8), s->feat.tok.cjk_bigrams = b8 != 0;
    if (!rc) rc = io_get_f32(&c, &s->temperature);
    if (!rc && !(s->temperature > 0 && s->temperature < 1e6f))
        rc = core_error(AISLE_EFORMAT, "%s: temperature %g is not positive", c.section, (double)s->temperature);
    if (!rc) rc = io_get_f32(&c, &s->threshold);
    if (!rc && !(s->threshold >= 0 && s->threshold <= 1))
        rc = core_error(AISLE_EFORMAT, "%s: unknown threshold %g outside [0, 1]", c.section, (double)s->threshold);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) rc = s->arch->load(r, nl, s->feat.buckets, &s->arch_state);
    return rc;
}

static int intent_describe(const aisle_model *m, core_buf *out) {
    const intent_state *s = m->state;
    int rc = buf_printf(out, "architecture: %s\nlabels: %zu\n", s->arch->name, s->labels.n);
    if (!rc && !s->arch->raw_text) rc = buf_printf(out, "features: word_ngrams=%d char_ngrams=%d..%d hash_buckets=%u max_tokens=%u\n",
                             s->feat.word_ngrams, s->feat.char_min, s->feat.char_max, s->feat.buckets,
                             s->feat.max_tokens);
    if (!rc) rc = buf_printf(out, "temperature: %.4g\nunknown_threshold: %.4g\n", (double)s->temperature,
                             (double)s->threshold);
    if (!rc && s->arch->describe) rc = s->arch->describe(s->arch_state, out);
    return rc;
}

const model_ops model_intent_ops = {
    .name = "intent",
    .summary = "text classifier (intents, sentiment, category): hashed n-gram bag, transformer or a pretrained "
               "bert; train with aisle_text_train",
    .options = text_options,
    .flags = 0,
    .train = intent_train_events,
    .score_items = intent_score_items,
    .save = intent_save,
    .load = intent_load,
    .describe = intent_describe,
    .free_state = intent_free,
};

/* ---- public classification API ---- */

AISLE_API int aisle_model_label_count(const aisle_model *m, size_t *out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_label_count: NULL argument");
    const intent_state *s = intent_of(m);
    if (!s) return not_intent(m, "aisle_model_label_count");
    *out = s->labels.n;
    return AISLE_OK;
}

AISLE_API int aisle_model_label(const aisle_model *m, size_t index, const char **out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_label: NULL argument");
    const intent_state *s = intent_of(m);
    if (!s) return not_intent(m, "aisle_model_label");
    if (index >= s->labels.n)
        return core_error(AISLE_ERANGE, "label index %zu out of range [0, %zu)", index, s->labels.n);
    *out = keys_at(&s->labels, (uint32_t)index);
    return AISLE_OK;
}

/* Calibrated probabilities of one text into p[0..labels); the doc is the
 * caller's scratch (its arrays are grown ahead for short texts). */
static int text_probs(const intent_state *s, const char *text, size_t len, text_doc *d, float *p) {
    int rc = core_grow((void **)&d->ids, &d->ids_cap, 256, sizeof *d->ids);
    if (!rc) rc = core_grow((void **)&d->first, &d->first_cap, 64, sizeof *d->first);
    if (!rc) rc = text_logits(s, text, len, d, p);
    if (!rc) text_softmax(p, s->labels.n, s->temperature);
    return rc;
}

AISLE_API int aisle_text_classify(const aisle_model *m, const char *text, size_t len, size_t k, const char **labels,
                                  float *probs, size_t *n_out, int *unknown) {
    if (!m || (!text && len && len != AISLE_NUL_TERMINATED) || !labels || !probs || !n_out)
        return core_error(AISLE_EINVAL, "aisle_text_classify: NULL argument");
    if (!k) return core_error(AISLE_EINVAL, "aisle_text_classify: k must be > 0");
    const intent_state *s = intent_of(m);
    if (!s) return not_intent(m, "aisle_text_classify");
    len = text ? feat_text_len(text, len) : 0;
    size_t nl = s->labels.n;
    float stack[64];
    float *p = nl <= 64 ? stack : core_malloc(nl * sizeof *p);
    if (!p) return core_oom("classification");
    text_doc d;
    text_doc_init(&d);
    int rc = text_probs(s, text, len, &d, p);
    text_doc_free(&d);
    if (!rc) {
        size_t n = CORE_MIN(k, nl);
        /* selection of the n best (labels are few) */
        for (size_t j = 0; j < n; j++) {
            size_t best = SIZE_MAX;
            for (size_t l = 0; l < nl; l++) {
                if (p[l] < 0) continue; /* taken */
                if (best == SIZE_MAX || p[l] > p[best]) best = l;
            }
            labels[j] = keys_at(&s->labels, (uint32_t)best);
            probs[j] = p[best];
            p[best] = -1.0f;
        }
        *n_out = n;
        if (unknown) *unknown = probs[0] < s->threshold;
    }
    if (p != stack) core_free(p);
    return rc;
}

struct aisle_text_explanation {
    char *label;
    core_buf tokens;   /* NUL-terminated token texts */
    size_t *off;
    float *contrib;
    size_t n;
};

AISLE_API void aisle_text_explanation_free(aisle_text_explanation *e) {
    if (!e) return;
    core_free(e->label);
    buf_free(&e->tokens);
    core_free(e->off);
    core_free(e->contrib);
    core_free(e);
}

AISLE_API int aisle_text_explain(const aisle_model *m, const char *text, size_t len, const char *label,
                                 aisle_text_explanation **out) {
    if (!m || (!text && len && len != AISLE_NUL_TERMINATED) || !out)
        return core_error(AISLE_EINVAL, "aisle_text_explain: NULL argument");
    const intent_state *s = intent_of(m);
    if (!s) return not_intent(m, "aisle_text_explain");
    if (!s->arch->explain)
        return core_error(AISLE_EUNSUPPORTED, "architecture '%s' does not explain", s->arch->name);
    len = text ? feat_text_len(text, len) : 0;
    uint32_t target = 0;
    if (label) {
        int64_t li = keys_find(&s->labels, label, strlen(label));
        if (li < 0) return core_error(AISLE_ENOTFOUND, "the model has no label '%s'", label);
        target = (uint32_t)li;
    }
    aisle_text_explanation *e = core_calloc(1, sizeof *e);
    float *z = core_malloc(s->labels.n * sizeof *z);
    text_doc d;
    text_doc_init(&d);
    d.keep_text = true;
    int rc = !e || !z ? core_oom("explanation") : AISLE_OK;
    if (e) buf_init(&e->tokens);
    if (!rc && s->arch->raw_text) rc = s->arch->tokens(s->arch_state, text, len, &d);
    else if (!rc) rc = text_featurize(&s->feat, text, len, &d);
    text_view v = text_doc_view(&d);
    if (s->arch->raw_text) v.text = text ? text : "", v.len = text ? len : 0;
    if (!rc && !label) {
        rc = s->arch->logits(s->arch_state, &v, z);
        for (uint32_t l = 1; !rc && l < s->labels.n; l++) target = z[l] > z[target] ? l : target;
    }
    if (!rc) {
        e->n = d.n_tokens;
        e->label = core_strdup(keys_at(&s->labels, target));
        e->off = core_malloc((d.n_tokens ? d.n_tokens : 1) * sizeof *e->off);
        e->contrib = core_malloc((d.n_tokens ? d.n_tokens : 1) * sizeof *e->contrib);
        if (!e->label || !e->off || !e->contrib) rc = core_oom("explanation");
    }
    if (!rc) rc = s->arch->explain(s->arch_state, &v, target, e->contrib);
    if (!rc) rc = buf_append(&e->tokens, d.tok_text.data ? d.tok_text.data : "", d.tok_text.len);
    if (!rc && d.n_tokens) memcpy(e->off, d.tok_off, d.n_tokens * sizeof *e->off);
    text_doc_free(&d);
    core_free(z);
    if (rc) {
        aisle_text_explanation_free(e);
        return rc;
    }
    *out = e;
    return AISLE_OK;
}

int model_text_explanation_new(const char *label, const char *tokens, const size_t *off, const float *contrib,
                                size_t n, size_t tokens_len, aisle_text_explanation **out) {
    aisle_text_explanation *e = core_calloc(1, sizeof *e);
    if (!e) return core_oom("explanation");
    buf_init(&e->tokens);
    e->n = n;
    e->label = core_strdup(label);
    e->off = core_malloc((n ? n : 1) * sizeof *e->off);
    e->contrib = core_malloc((n ? n : 1) * sizeof *e->contrib);
    int rc = !e->label || !e->off || !e->contrib ? core_oom("explanation") : AISLE_OK;
    if (!rc) rc = buf_append(&e->tokens, tokens ? tokens : "", tokens ? tokens_len : 0);
    if (!rc && n) {
        memcpy(e->off, off, n * sizeof *off);
        memcpy(e->contrib, contrib, n * sizeof *contrib);
    }
    if (rc) {
        aisle_text_explanation_free(e);
        return rc;
    }
    *out = e;
    return AISLE_OK;
}

AISLE_API int aisle_text_explanation_label(const aisle_text_explanation *e, const char **label) {
    if (!e || !label) return core_error(AISLE_EINVAL, "aisle_text_explanation_label: NULL argument");
    *label = e->label;
    return AISLE_OK;
}

AISLE_API int aisle_text_explanation_count(const aisle_text_explanation *e, size_t *out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_text_explanation_count: NULL argument");
    *out = e->n;
    return AISLE_OK;
}

AISLE_API int aisle_text_explanation_at(const aisle_text_explanation *e, size_t index, const char **token,
                                        float *contribution) {
    if (!e) return core_error(AISLE_EINVAL, "aisle_text_explanation_at: NULL explanation");
    if (index >= e->n) return core_error(AISLE_ERANGE, "token index %zu out of range [0, %zu)", index, e->n);
    if (token) *token = e->tokens.data + e->off[index];
    if (contribution) *contribution = e->contrib[index];
    return AISLE_OK;
}

/* ---- text vectors (src/search's encoder) ---- */

static int no_vectors(const aisle_model *m, const intent_state *s) {
    if (!s) return not_intent(m, "text vectors");
    return core_error(AISLE_EUNSUPPORTED, "text vectors: architecture '%s' has none (use transformer or bag)",
                      s->arch->name);
}

int model_text_embed_dim(const aisle_model *m, size_t *dim) {
    const intent_state *s = intent_of(m);
    if (!s || !s->arch->embed) return no_vectors(m, s);
    *dim = s->arch->embed_dim(s->arch_state);
    return AISLE_OK;
}

int model_text_embed(const aisle_model *m, const char *text, size_t len, text_doc *scratch, float *out) {
    const intent_state *s = intent_of(m);
    if (!s || !s->arch->embed) return no_vectors(m, s);
    int rc = text_featurize(&s->feat, text, len, scratch);
    if (rc) return rc;
    if (!scratch->n_tokens) { /* no words: no evidence (the transformer would still pool its [CLS] row) */
        memset(out, 0, s->arch->embed_dim(s->arch_state) * sizeof *out);
        return AISLE_OK;
    }
    text_view v = text_doc_view(scratch);
    return s->arch->embed(s->arch_state, &v, out);
}

int model_text_fingerprint(const aisle_model *m, int alg, uint64_t *out) {
    const intent_state *s = intent_of(m);
    if (!s || !s->arch->fingerprint) return no_vectors(m, s);
    if (alg != TEXT_FP_BYTES && alg != TEXT_FP_WORDS)
        return core_error(AISLE_EINVAL, "text vectors: fingerprint algorithm %d", alg);
    const text_feat_cfg *f = &s->feat;
    int32_t feat[8] = {f->tok.lowercase, f->tok.cjk_bigrams, f->tok.min_token_len, f->word_ngrams, f->char_min,
                       f->char_max, (int32_t)f->buckets, (int32_t)f->max_tokens};
    text_fp fp = {0xcbf29ce484222325ULL, alg};
    text_fp_mix(&fp, "intent", 6);
    text_fp_mix(&fp, feat, sizeof feat);
    s->arch->fingerprint(s->arch_state, &fp);
    *out = fp.h;
    return AISLE_OK;
}

/* ---- for evaluation (src/eval) ---- */

int model_text_probs(const aisle_model *m, const aisle_texts *t, int threads, float **probs, float *threshold) {
    const intent_state *s = intent_of(m);
    if (!s) return not_intent(m, "text evaluation");
    int rc = corpus_logits(s, t, threads, probs);
    if (rc) return rc;
    for (size_t i = 0; i < t->n; i++) text_softmax(*probs + i * s->labels.n, s->labels.n, s->temperature);
    if (threshold) *threshold = s->threshold;
    return AISLE_OK;
}
